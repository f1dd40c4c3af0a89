# Training-step speed of SmolLM2 on 4 batches of 16 of the demo's requests under bf16 autocast, for several packing capacities, with
# and without grouped-query attention in SDPA under the packing mask (transformers' TRANSFORMERS_SDPA_FORCE_GQA):
# python speed_pack.py (from the repository root, after make demo has written runs/fhir-demo/data/standard-3200)
import torch, time, sys, os
from datasets import load_from_disk
from stepdistill_nb.training import *
torch.manual_seed(0)
model, tok = load_student("smollm2")
fmt = TaskFormat(False, max_input_len=128, max_target_len=128, max_rationale_len=64)
d = load_from_disk('runs/fhir-demo/data/standard-3200')['train'].shuffle(seed=1).select(range(64))
enc = encode_examples(d, tok, fmt, mode='standard')
opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
def run(cap, gqa, reps=4):
    os.environ['TRANSFORMERS_SDPA_FORCE_GQA'] = '1' if gqa else '0'
    col = PackedCollator(tok.pad_token_id or 0, cap)
    batches = [col([enc[i] for i in range(16*j, 16*j+16)]) for j in range(4)]
    def step(batch):
        model.train()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            rs, rn, _ = task_losses(model, batch, False)
            loss = multitask_loss(rs, rn, batch['task'])[0]
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
        return loss.item()
    step(batches[0])
    t = time.perf_counter(); toks = 0; ls=[]
    for b in batches[:reps]: ls.append(step(b)); toks += int(b['segment'].ge(0).sum())
    dt = time.perf_counter() - t
    print(f'capacity {cap} gqa {gqa}: {toks/dt:.1f} tok/s, shapes {[tuple(b["input_ids"].shape) for b in batches]}', flush=True)
for cap, gqa in [(256, False), (256, True), (128, True), (96, True), (128, False), (256, False)]:
    run(cap, gqa)
