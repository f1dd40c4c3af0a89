# How large NEFTune's noise is beside SmolLM2's input embeddings (the figures in probes/README.md): the noise is
# uniform in ±α/√(L·d), L the tokens of a packed line (train's pack_capacity, 256), d the embedding width.
# python neftune_scale.py [ALPHA] (from the repository root).
import math, os, sys, torch
from transformers import AutoModelForCausalLM
from stepdistill_nb.training import smollm2_gguf
alpha, L = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0, 256
d, f = os.path.split(smollm2_gguf())
E = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).get_input_embeddings().weight.detach()
bound = alpha / math.sqrt(L * E.shape[1])
print(f'embedding elements: sd {E.std().item():.3f}; noise alpha {alpha}: bound {bound:.4f}, sd {bound / math.sqrt(3):.4f} '
      f'= {100 * bound / math.sqrt(3) / E.std().item():.1f}% of the elements\' sd')
