# Layer dropping (Gromov et al. 2024, "The Unreasonable Ineffectiveness of the Deeper Layers"), tried on the demo's student:
#   python drop_layers.py angles          the angular distance between the hidden states entering layer l and leaving layer
#                                         l+n-1, on 64 of the demo's training requests (the smallest: the block that changes least)
#   python drop_layers.py FIRST COUNT NAME the demo's training (runs/fhir-demo/data/standard-3200, one epoch, one evaluation)
#                                         of SmolLM2 with decoder layers FIRST..FIRST+COUNT-1 removed, into runs/probes/NAME
# From the repository root, after `make demo` (its data). Score it with ../demo_runs/score_test200.py.
import runpy, sys, json, torch
from pathlib import Path
import datasets
import stepdistill_nb.training as T

def angles(n_texts=64):
    ds = datasets.load_from_disk('runs/fhir-demo/data/standard-3200')['train']
    model, tok = T.load_student('smollm2'); model.eval()
    enc = tok([f"predict: {r['input']}\n{r['label']}" for r in ds.select(range(n_texts))], return_tensors='pt', padding=True)
    with torch.no_grad(): hs = model(**enc, output_hidden_states=True).hidden_states
    mask, L = enc['attention_mask'].bool(), len(hs) - 1
    def dist(a, b): return (torch.nn.functional.cosine_similarity(a[mask], b[mask], dim=-1).clamp(-1, 1).arccos() / torch.pi).mean().item()
    for n in (4, 6, 8, 10, 12):
        best = sorted((dist(hs[l], hs[l + n]), l) for l in range(L - n + 1))[:5]
        print(f'{n} layers, the 5 blocks that change least (first layer, distance):', [(l, round(d, 3)) for d, l in best])
    print('one layer each:', [round(dist(hs[l], hs[l + 1]), 3) for l in range(L)])

def dropping(first, count):
    load = T.load_student
    def load_dropped(*a, **k):
        model, tok = load(*a, **k)
        keep = [l for i, l in enumerate(model.model.layers) if not first <= i < first + count]
        model.model.layers = torch.nn.ModuleList(keep)
        for i, l in enumerate(keep): l.self_attn.layer_idx = i   # the KV cache of generation is indexed by layer
        model.config.num_hidden_layers = len(keep)
        if getattr(model.config, 'layer_types', None): model.config.layer_types = model.config.layer_types[:len(keep)]
        print('layers', len(keep), 'parameters', model.num_parameters(), flush=True)
        return model, tok
    T.load_student = load_dropped

if sys.argv[1] == 'angles': angles()
else:
    dropping(int(sys.argv[1]), int(sys.argv[2]))
    sys.argv = ['train_probe.py', '0', sys.argv[3], json.dumps(dict(data='runs/fhir-demo/data/standard-3200', evaluations=1, average='none'))]
    runpy.run_path(str(Path(__file__).with_name('train_probe.py')), run_name='__main__')
