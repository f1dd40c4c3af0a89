"""The package's modules import one another one way: no cycle, even through imports inside functions."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1]/'stepdistill_nb'

def package_imports() -> dict:
    "`{module: {package modules it imports anywhere in its source}}`."
    mods = {p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_')}
    graph = {}
    for m in mods:
        found = set()
        for node in ast.walk(ast.parse((PKG/f'{m}.py').read_text())):
            if isinstance(node, ast.ImportFrom):
                name = node.module or ''
                if node.level == 1: found.add(name.split('.')[0] if name else '')
                elif name.startswith('stepdistill_nb.'): found.add(name.split('.')[1])
                if node.level == 1 and not name: found |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split('.')[1] for a in node.names if a.name.startswith('stepdistill_nb.')}
        graph[m] = (found & mods) - {m}
    return graph

def cycle(graph):
    "One import cycle as a list of modules, or None."
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 'open': return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)): return c
        state[m] = 'done'; stack.pop()
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c

def test_no_import_cycle():
    g = package_imports()
    assert g['ddk'] >= {'training'} and 'ddk' not in g['training'], g['training']   # DDK builds on training, not the reverse
    assert cycle(g) is None, ' -> '.join(cycle(g))

def test_cycle_finder_finds_one():
    assert cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert cycle({'a': {'b'}, 'b': set()}) is None

def test_metrics_stand_alone():
    "Every module may score through `metrics`: it imports no other module of the package."
    assert package_imports()['metrics'] == set()


def test_no_function_takes_more_than_12_parameters():
    "Settings travel in objects (`DistillConfig`, the commands' dataclasses), not in thirty parameters."
    big = []
    for p in PKG.glob('*.py'):
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs if a.arg not in ('self', 'cls')]
                if len(names) > 12: big.append(f'{p.stem}.{n.name}: {len(names)}')
    assert not big, big


def test_exported_cells_are_short():
    "The notebooks export one small piece at a time: the median exported cell is at most 10 lines."
    import json, re, statistics
    lens = [len(''.join(c['source']).splitlines()) - 1
            for nb in sorted((PKG.parent/'nbs').glob('*.ipynb')) for c in json.loads(nb.read_text())['cells']
            if c['cell_type'] == 'code' and re.match(r'#\|\s*export', ''.join(c['source']))]
    assert statistics.median(lens) <= 10, statistics.median(lens)


def test_command_line_on_top_flags_below():
    "The command line imports the commands' modules (by name, when one runs); none of them imports it back. They share `flags`."
    g = package_imports()
    assert not [m for m, deps in g.items() if 'cli' in deps], {m: d for m, d in g.items() if 'cli' in d}
    assert g['flags'] == set() and g['cli'] == {'flags'}
    from stepdistill_nb.cli import SUBCOMMANDS
    assert {t.split(':')[0].split('.')[1] for t, _ in SUBCOMMANDS.values()} <= set(g)   # every command's module is in the package
