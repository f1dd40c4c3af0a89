# Does torch.compile make the demo's training step faster on this CPU? The step of profile_step.py (bf16 autocast, fused
# AdamW, packed lines of 256 tokens from generated requests), eager or with the decoder body compiled by inductor
# (dynamic shapes: line count and length vary per batch). Prints the first 3 steps' time (compiling) and tokens/s after.
#   python reports/fhir_case_study/probes/compile_step.py [STEPS] [eager|compile]   (from the repository root)
import sys, time
import torch
from profile_step import demo_step   # the same model, batches and step as profile_step.py (this folder is on the path)

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6
mode = sys.argv[2] if len(sys.argv) > 2 else 'compile'
model, batches, step = demo_step(steps + 3)
print('shapes', [tuple(b['input_ids'].shape) for b in batches])
if mode == 'compile': model.model = torch.compile(model.model, dynamic=True)
t = time.perf_counter()
for b in batches[:3]: print('warm', step(b, True), round(time.perf_counter() - t, 1), flush=True)
warm = time.perf_counter() - t
tokens = sum(int(b['segment'].ge(0).sum()) for b in batches[3:])
t = time.perf_counter()
for b in batches[3:]: step(b, True)
dt = time.perf_counter() - t
print(f'{mode}: warm-up 3 steps {warm:.1f} s; {tokens / dt:.1f} tokens/s over {steps} steps ({dt:.1f} s)')
