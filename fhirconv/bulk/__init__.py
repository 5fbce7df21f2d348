"""Cohorts: many cases out (a Bundle each, or the FHIR Bulk Data layout), Bulk Data in
(validated and imported streaming), run on all cores or a Dask cluster (:mod:`fhirconv.parallel`)."""
