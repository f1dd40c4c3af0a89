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
