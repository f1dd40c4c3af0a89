# Average a run's final weights with its earlier kept checkpoints (the trainer keeps two: here the ¾ one and the
# last), into a new student folder: python avg_checkpoints.py RUN OUT [STEP] (from the repository root); with STEP,
# OUT gets that checkpoint's weights alone (the run stopped early). Score OUT with score_probe.py.
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
run, out = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(run, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns('checkpoints', '*.gguf', '*_preds_q8.json'))
if len(sys.argv) > 3:
    shutil.copy2(run/'checkpoints'/f'checkpoint-{sys.argv[3]}'/'model.safetensors', out/'model.safetensors')
    sys.exit(print(out, 'weights of checkpoint', sys.argv[3]))
final = load_file(str(run/'model.safetensors'))
sds = [final] + [load_file(str(c/'model.safetensors')) for c in sorted((run/'checkpoints').glob('checkpoint-*'))]
sds = [s for i, s in enumerate(sds) if i == 0 or any(not s[k].equal(final[k]) for k in final)]   # the last checkpoint is the final weights
assert len(sds) > 1 and all(s.keys() == final.keys() for s in sds), 'nothing to average, or other tensors'
save_file({k: (sum(s[k] for s in sds) / len(sds)).contiguous() for k in final}, str(out/'model.safetensors'), metadata={'format': 'pt'})
print(out, 'mean of', len(sds), 'weight sets')
