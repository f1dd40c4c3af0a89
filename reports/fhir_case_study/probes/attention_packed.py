# Attention alone on packed lines, SmolLM2's shape (9 query heads, 3 key/value heads, head size 64, lines of 256 tokens
# holding 2-3 requests each): one SDPA call per line under the block-diagonal mask (what the packed step does) against one
# causal SDPA call per request (what a variable-length kernel would do), forward and backward, float32 and bf16.
#   python reports/fhir_case_study/probes/attention_packed.py
import torch, time, torch.nn.functional as F
torch.manual_seed(0)
H, KV, D, C = 9, 3, 64, 256
lines = [[90, 80, 70], [100, 85, 60], [120, 110], [75, 75, 75], [95, 90, 55]]
def mk():
    q = torch.randn(len(lines), H, C, D, requires_grad=True); k = torch.randn(len(lines), KV, C, D, requires_grad=True); v = torch.randn(len(lines), KV, C, D, requires_grad=True)
    return q, k, v
seg = torch.full((len(lines), C), -1)
for i, l in enumerate(lines):
    at = 0
    for j, n in enumerate(l): seg[i, at:at+n] = j; at += n
    seg[i, at:] = 99
mask = (seg[:, None, :, None] == seg[:, None, None, :]) & torch.ones(C, C, dtype=torch.bool).tril()
def full(q, k, v):
    k2, v2 = k.repeat_interleave(3, 1), v.repeat_interleave(3, 1)
    return F.scaled_dot_product_attention(q, k2, v2, attn_mask=mask)
def perdoc(q, k, v):
    outs = []
    for i, l in enumerate(lines):
        bounds = [0]
        for n in l: bounds.append(bounds[-1] + n)
        if bounds[-1] < C: bounds.append(C)
        parts = [F.scaled_dot_product_attention(q[i:i+1, :, s:e], k[i:i+1, :, s:e], v[i:i+1, :, s:e], is_causal=True, enable_gqa=True) for s, e in zip(bounds, bounds[1:])]
        outs.append(torch.cat(parts, 2))
    return torch.cat(outs, 0)
for bf in (False, True):
    for name, f in (('full', full), ('perdoc', perdoc)):
        q, k, v = mk()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf):
            o = f(q, k, v); o.float().sum().backward()
            t = time.perf_counter()
            for _ in range(30):
                o = f(q, k, v); o.float().sum().backward()
        print('bf16' if bf else 'fp32', name, round((time.perf_counter() - t) / 30 * 1000, 2), 'ms per layer fwd+bwd')
q, k, v = mk()
a, b = full(q, k, v), perdoc(q, k, v)
real = seg.ne(99)[:, None, :, None]
print('max diff', ((a - b).abs() * real).max().item())
print('--- bf16 tensors, no autocast')
def mkb():
    return [t.detach().bfloat16().requires_grad_() for t in mk()]
def causal(q, k, v): return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
for name, f in (('full', full), ('perdoc', perdoc), ('causal-line', causal)):
    q, k, v = mkb()
    o = f(q, k, v); o.float().sum().backward()
    t = time.perf_counter()
    for _ in range(30):
        o = f(q, k, v); o.float().sum().backward()
    print('bf16', name, round((time.perf_counter() - t) / 30 * 1000, 2))
