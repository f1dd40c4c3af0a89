# A uniform weight soup of finished runs of one method (same pretrained start, same data, other training seeds), into a
# new student folder: python soup_runs.py OUT RUN... (from the repository root). Score OUT with score_probe.py.
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
out, runs = Path(sys.argv[1]), [Path(r) for r in sys.argv[2:]]
assert len(runs) > 1, 'a soup needs two runs or more'
shutil.copytree(runs[0], out, dirs_exist_ok=True, ignore=shutil.ignore_patterns('checkpoints', '*.gguf', '*_preds_q8.json', '*samples*.json'))
sds = [load_file(str(r/'model.safetensors')) for r in runs]
assert all(s.keys() == sds[0].keys() for s in sds), 'the runs hold other tensors'
save_file({k: (sum(s[k] for s in sds) / len(sds)).contiguous() for k in sds[0]}, str(out/'model.safetensors'), metadata={'format': 'pt'})
print(out, 'mean of', ', '.join(r.name for r in runs))
