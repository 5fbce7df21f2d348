from fhirconv.cli import main

main()
