# Training-step speed of SmolLM2 on the demo's requests under bf16 autocast: SDPA against eager attention under the
# packing mask, and 16 against 32 requests a step (packed lines of 256):
# python speed_attn_batch.py (from the repository root, after make demo has written runs/fhir-demo/data/standard-3200)
import torch, time
from datasets import load_from_disk
from stepdistill_nb.training import *
torch.manual_seed(0)
model, tok = load_student("smollm2")
fmt = TaskFormat(False, max_input_len=128, max_target_len=128, max_rationale_len=64)
d = load_from_disk('runs/fhir-demo/data/standard-3200')['train'].shuffle(seed=1).select(range(160))
enc = encode_examples(d, tok, fmt, mode='standard')
opt = torch.optim.AdamW(model.parameters(), lr=1e-6, fused=True)
col = PackedCollator(tok.pad_token_id or 0, 256)
def step(batch):
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rs, rn, _ = task_losses(model, batch, False)
        loss = multitask_loss(rs, rn, batch['task'])[0]
    loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
def run(attn, bs):
    model.set_attn_implementation(attn)
    batches = [col([enc[i] for i in range(bs*j, bs*j+bs)]) for j in range(160 // bs)]
    step(batches[0])
    t = time.perf_counter(); toks = 0
    for b in batches[1:]: step(b); toks += int(b['segment'].ge(0).sum())
    dt = time.perf_counter() - t
    print(f'attention {attn}, {bs} a step: {toks/dt:.1f} tokens/s ({len(batches)-1} steps, {dt:.1f} s)', flush=True)
for attn, bs in [('sdpa', 16), ('eager', 16), ('sdpa', 16), ('eager', 16), ('sdpa', 16), ('eager', 16)]:
    run(attn, bs)
