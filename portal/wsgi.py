import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Every view, serializer and filter now, where the application is loaded (gunicorn's master,
# before it forks its workers: gunicorn.conf.py preloads), not in each process's first request.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 - imports the URLconf
