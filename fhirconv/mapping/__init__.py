"""Pure functions between the case model and FHIR R4 resources (plain JSON dicts)."""
