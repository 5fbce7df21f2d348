"""FHIR packages (the NPM-style packages implementation guides are published as).

:mod:`.package` reads one: a ``.tgz``, an unpacked folder, or ``name#version`` in
the FHIR package cache; :mod:`.registry` installs one with its dependencies from
the npm registry into that cache.  Nothing here knows about validation: the
validation layers read the definitions a package holds.
"""
