"""Reading FHIR back into the case model: bundle files, the import report, comparison.

The mapping itself is in :mod:`fhirconv.mapping` (each ``from_fhir`` beside its
``to_fhir``); this package reads files, validates them first, writes case files
and compares cases field by field.
"""
