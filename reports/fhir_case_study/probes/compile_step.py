# Does torch.compile make the demo's training step faster on this CPU? The step of profile_step.py (bf16 autocast, fused
# AdamW, packed lines of 256 tokens from generated requests), eager or with the decoder body compiled by inductor
# (dynamic shapes: line count and length vary per batch). Prints the first 3 steps' time (compiling) and tokens/s after.
#   python reports/fhir_case_study/probes/compile_step.py [STEPS] [eager|compile]   (from the repository root)
import sys, time, os
import torch, datasets
from stepdistill_nb.training import load_student, TaskFormat, encode_examples, PackedCollator, task_losses, multitask_loss
from stepdistill_nb.fhir_data import generate_fhir_records
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 6
mode = sys.argv[2] if len(sys.argv) > 2 else 'compile'
torch.manual_seed(0)
model, tok = load_student('smollm2')
fmt = TaskFormat(False, max_input_len=128, max_target_len=128, max_rationale_len=64)
enc = encode_examples(datasets.Dataset.from_list(generate_fhir_records(16 * (steps + 3), 'train', seed=1)), tok, fmt, mode='standard')
col = PackedCollator(tok.pad_token_id or 0, 256)
batches = [col([enc[i] for i in range(16 * j, 16 * j + 16)]) for j in range(steps + 3)]
print('shapes', [tuple(b['input_ids'].shape) for b in batches])
opt = torch.optim.AdamW(model.parameters(), lr=1e-6, fused=True)
if mode == 'compile':
    t = time.perf_counter()
    model.model = torch.compile(model.model, dynamic=True)
def step(batch, bf16=True):
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        rs, rn, _ = task_losses(model, batch, False)
        loss = multitask_loss(rs, rn, batch['task'])[0]
    loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    return loss.item()
t = time.perf_counter()
for b in batches[:3]: print('warm', step(b), round(time.perf_counter() - t, 1), flush=True)
warm = time.perf_counter() - t
tokens = sum(int(b['segment'].ge(0).sum()) for b in batches[3:])
t = time.perf_counter()
for b in batches[3:]: step(b)
dt = time.perf_counter() - t
print(f'{mode}: warm-up 3 steps {warm:.1f} s; {tokens / dt:.1f} tokens/s over {steps} steps ({dt:.1f} s)')
