"""fhirconv: oncology case records to FHIR R4 / mCODE STU4 bundles and back."""

__version__ = "0.1.0"
