from __future__ import annotations

import csv
import io

from django import forms

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 5000


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Claims file",
        help_text="A .csv or .csv.gz file, one claim line per row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.gz,.txt,text/csv"}),
    )


class PayerAliasForm(forms.Form):
    raw_name = forms.CharField(
        max_length=200, label="Raw name", help_text="As it appears in your files."
    )
    payer_name = forms.CharField(max_length=200, label="Counts as payer")


class CptGroupForm(forms.Form):
    cpt = forms.CharField(max_length=5, label="CPT", help_text="e.g. 99213, 0001U, J1100")
    group = forms.CharField(max_length=32, label="Group")


class MappingImportForm(forms.Form):
    """A small CSV of mappings (``columns`` in the header, in any order and case).

    ``rows`` is a list of ``(row_number, {column: value})``; row 1 is the first
    row after the header. The whole file is checked before any row is saved.
    """

    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv"})
    )

    def __init__(self, *args, columns: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        self.rows: list[tuple[int, dict[str, str]]] = []
        self.fields[
            "file"
        ].help_text = f"Columns: {','.join(columns)}. At most {MAX_IMPORT_ROWS} rows."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 1 MB; split it.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None
        reader = csv.reader(io.StringIO(text))
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in self.columns if name not in header]
        if missing:
            found = ", ".join(h for h in header if h) or "nothing"
            raise forms.ValidationError(
                f"Missing column(s): {', '.join(missing)}. Found: {found}. "
                f"Expected: {','.join(self.columns)}."
            )
        positions = {name: header.index(name) for name in self.columns}
        rows = []
        for number, row in enumerate(reader, start=1):
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) == MAX_IMPORT_ROWS:
                raise forms.ValidationError(f"More than {MAX_IMPORT_ROWS} rows; split the file.")
            values = {
                name: row[index].strip() if index < len(row) else ""
                for name, index in positions.items()
            }
            rows.append((number, values))
        if not rows:
            raise forms.ValidationError("The file has a header but no rows.")
        self.rows = rows
        return upload
