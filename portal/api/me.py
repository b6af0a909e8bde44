from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts.models import ApiToken
from portal.accounts.selectors import role_of
from portal.api.base import CustomerScopedMixin


class MeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_staff = serializers.BooleanField()


class MeCustomerSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class MeTokenSerializer(serializers.Serializer):
    name = serializers.CharField()
    prefix = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    user = MeUserSerializer()
    customer = MeCustomerSerializer()
    role = serializers.CharField(allow_null=True, help_text="null for staff without a membership")
    scope = serializers.ChoiceField(choices=["read", "write", "session"])
    token = MeTokenSerializer(allow_null=True)


class MeView(CustomerScopedMixin, APIView):
    @extend_schema(
        operation_id="me",
        summary="Who am I",
        description="The authenticated user, the customer this request works in, the user's role "
        "there and the scope of the credentials (`read`/`write` token, or `session`).",
        responses=MeSerializer,
        examples=[
            OpenApiExample(
                "Token",
                value={
                    "user": {
                        "id": 7,
                        "email": "ana@acme.test",
                        "full_name": "Ana",
                        "is_staff": False,
                    },
                    "customer": {"slug": "acme", "name": "Acme Health"},
                    "role": "analyst",
                    "scope": "read",
                    "token": {"name": "BI export", "prefix": "pw_AbCdEfGh", "expires_at": None},
                },
                response_only=True,
            )
        ],
        tags=["me"],
    )
    def get(self, request):
        token = request.auth if isinstance(request.auth, ApiToken) else None
        data = {
            "user": request.user,
            "customer": self.customer,
            "role": role_of(user=request.user, customer=self.customer),
            "scope": token.scope if token else "session",
            "token": token,
        }
        return Response(MeSerializer(data).data)
