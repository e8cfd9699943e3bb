#!/usr/bin/env python3
"""Adds package-lock entries for platform-specific optional dependencies (darwin, win32, ...
binaries of @swc/core, unrs-resolver, ...) that an `npm install` against a registry mirror
without them leaves out. Without the entries `npm ci` refuses the lock ("Missing: X@ from
lock file"). Run from the repo root after `npm install` changed package-lock.json:

    python3 .ci/complete-lock.py
"""
import json, re, subprocess, sys
path = 'package-lock.json'
dry = subprocess.run(['npm', 'ci', '--dry-run', '--ignore-scripts'], capture_output=True, text=True)
missing = re.findall(r'Missing: (\S+?)@\S* from lock file', dry.stdout + dry.stderr)
if not missing:
    print('package-lock.json is complete')
    sys.exit(0)
lock = json.load(open(path))
pkgs = lock['packages']
OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony']
CPU = {'arm64': 'arm64', 'x64': 'x64', 'arm': 'arm', 'ia32': 'ia32', 'ppc64': 'ppc64', 's390x': 's390x', 'loong64': 'loong64', 'riscv64': 'riscv64'}
added = 0
for name in missing:
    key = f'node_modules/{name}'
    if key in pkgs:
        continue
    parent = next(((k, v) for k, v in pkgs.items() if name in v.get('optionalDependencies', {})), None)
    if parent is None:
        sys.exit(f'no parent declares {name}')
    version = parent[1]['optionalDependencies'][name]
    if not re.fullmatch(r'\d+\.\d+\.\d+', version):
        sys.exit(f'{name}: parent spec {version} is not exact')
    suffix = name.split('/')[-1]
    parts = suffix.split('-')
    os_ = next(p for p in parts if p in OS)
    cpu = CPU[parts[parts.index(os_) + 1]]
    entry = {'version': version}
    if parent[1].get('dev'):
        entry['dev'] = True
    if os_ == 'linux':
        entry['libc'] = ['musl'] if 'musl' in suffix else ['glibc']
    entry.update({'optional': True, 'os': [os_], 'cpu': [cpu]})
    pkgs[key] = entry
    added += 1
# Keep npm's order: each new entry goes right before the first existing key sorting after it.
new_keys = sorted(k for k in pkgs if k in set(f'node_modules/{n}' for n in missing))
ordered = {}
for k, v in pkgs.items():
    if k in new_keys:
        continue
    while new_keys and k != '' and new_keys[0] < k:
        nk = new_keys.pop(0)
        ordered[nk] = pkgs[nk]
    ordered[k] = v
for nk in new_keys:
    ordered[nk] = pkgs[nk]
lock['packages'] = ordered
with open(path, 'w') as f:
    json.dump(lock, f, indent=2)
    f.write('\n')
print('added', added)
