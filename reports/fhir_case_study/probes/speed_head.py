# Training-step speed of SmolLM2 on the demo's requests (bf16 autocast, eager attention, 16 a step, packed lines of 256),
# interleaved: the full softmax, the tied embeddings frozen, a softmax over the data's tokens only, and the library's sampled
# softmax (the data's tokens and 4,096 others drawn each step, `SampledSoftmax`):
# python speed_head.py [ROUNDS] [MODES, comma-separated: base,frozen,sub,sampled] (from the repository root, after make demo has written runs/fhir-demo/data/standard-3200)
import torch, time, sys
import torch.nn.functional as F
from datasets import load_from_disk
from stepdistill_nb.training import *
from stepdistill_nb.training import _body_and_head
torch.manual_seed(0)
model, tok = load_student("smollm2")
model.set_attn_implementation('eager')
fmt = TaskFormat(False, max_input_len=128, max_target_len=128, max_rationale_len=64)
full = load_from_disk('runs/fhir-demo/data/standard-3200')['train']
encall = encode_examples(full, tok, fmt, mode='standard')
V = sorted({t for e in encall for t in e['pred_input_ids']} | {t for e in encall for t in e['pred_labels'] if t >= 0} | {tok.eos_token_id})
print('vocab subset', len(V), 'of', model.config.vocab_size, flush=True)
Vt = torch.tensor(V); remap = torch.full((model.config.vocab_size,), -1, dtype=torch.long); remap[Vt] = torch.arange(len(V))
enc = [encall[i] for i in torch.randperm(len(encall), generator=torch.Generator().manual_seed(1))[:160].tolist()]
col = PackedCollator(tok.pad_token_id or 0, 256)
emb = model.get_input_embeddings().weight
sm = SampledSoftmax(data_vocab(encall, tok), model.config.vocab_size, 4096)
draws = iter(range(10**6))
def losses(batch, mode):
    if mode == 'sampled': return task_losses(model, batch, False, columns=sm.draw(next(draws)))
    if mode != 'sub': return task_losses(model, batch, False)
    tgt = F.pad(batch['labels'], (0, 1), value=-100)[:, 1:]; keep = tgt.ne(-100)
    body, head = _body_and_head(model)
    h = body(input_ids=batch['input_ids'], position_ids=batch['position_ids'], use_cache=False).last_hidden_state[keep]
    logits = h @ head.weight[Vt].T
    ce = F.cross_entropy(logits.float(), remap[tgt[keep]], reduction='none'); n = len(batch['task']); row = batch['segment'][keep]
    return torch.zeros(n, dtype=ce.dtype).index_add(0, row, ce), torch.bincount(row, minlength=n), None
def run(mode):
    emb.requires_grad_(mode != 'frozen')
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6, fused=True)
    def step(batch):
        model.train()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            rs, rn, _ = losses(batch, mode)
            loss = multitask_loss(rs, rn, batch['task'])[0]
        loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad(set_to_none=True)
        return loss.item()
    bs = 16
    batches = [col(enc[bs*j: bs*j+bs]) for j in range(160 // bs)]
    step(batches[0])
    t = time.perf_counter(); toks = 0
    for b in batches[1:6]: step(b); toks += int(b['segment'].ge(0).sum())
    dt = time.perf_counter() - t
    print(f'{mode}: {toks/dt:.1f} tokens/s ({dt:.1f} s)', flush=True)
for r in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
    for mode in (sys.argv[2] if len(sys.argv) > 2 else 'base,frozen,sub').split(','): run(mode)
