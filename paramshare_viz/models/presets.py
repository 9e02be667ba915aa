"""Named configs of published architectures, one table per sharing form.

Each :class:`Preset` holds config overrides for ``psv.zoo.build(form, **overrides)``
(read them through :func:`paramshare_viz.zoo.presets`) and its source, which
Explore shows beside its menu (comments add what the source line leaves out).
Most are too large to allocate comfortably on a laptop; build them with
``device="meta"`` to count without allocating.

>>> import paramshare_viz as psv
>>> albert = psv.zoo.build("albert", device="meta", **psv.zoo.presets("albert")["ALBERT-base"])
>>> sum(p.numel() for p in albert.parameters())  # HF AlbertModel("albert-base-v2")
11683584
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Preset:
    """One published configuration: where it comes from and the config overrides."""

    source: str  # shown beside the menu, so a reader can check the numbers
    overrides: dict[str, Any] = field(default_factory=dict)


def _p(source: str, **overrides: Any) -> Preset:
    return Preset(source, overrides)


# BERT / ALBERT sizes shared by several presets (Devlin et al., 2019; Lan et al., 2019, Table 1;
# the Hugging Face configs of bert-base-uncased and albert-*-v2).
_BERT_EMBEDDINGS: dict[str, Any] = dict(max_position_embeddings=512, type_vocab_size=2, add_pooler=True)
_ALBERT: dict[str, Any] = dict(vocab_size=30000, embedding_size=128, **_BERT_EMBEDDINGS)

PRESETS: dict[str, dict[str, Preset]] = {
    "conv": {
        # C1 has six 5x5 kernels on the 32x32 input, "156 trainable parameters, and 122,304
        # connections" (= the locally connected twin: 28*28 positions * 156).
        "LeNet-5 C1": _p(
            "LeCun et al. (1998), LeNet-5 layer C1: 156 parameters, 122,304 connections",
            in_channels=1, out_channels=6, kernel_size=5, stride=1, padding=0, image_size=32,
        ),
        # torchvision's resnet50().conv1.weight has 64*3*7*7 = 9,408 elements (no bias: BatchNorm follows).
        "ResNet-50 stem": _p(
            "He et al. (2016), ResNet-50 conv1: 64 7x7 kernels, stride 2, padding 3, no bias, on 224x224",
            in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3, image_size=224, bias=False,
        ),
        "ConvNeXt-T depthwise 7x7": _p(
            "Liu et al. (2022), ConvNeXt-T stage 1: depthwise Conv2d(96, 96, 7, padding=3, groups=96) on 56x56",
            in_channels=96, out_channels=96, kernel_size=7, stride=1, padding=3, groups=96, image_size=56,
        ),
    },
    "patch_embed": {
        # timm's vit_base_patch16_224 patch_embed.proj holds 768*3*16*16 + 768 = 590,592.
        "ViT-B/16 at 224": _p(
            "Dosovitskiy et al. (2021), ViT-B/16 at 224: 196 patches of 16x16, width 768",
            image_size=224, patch_size=16, in_channels=3, embed_dim=768,
        ),
        "ViT-B/32 at 224": _p(
            "Dosovitskiy et al. (2021), ViT-B/32 at 224: 49 patches of 32x32, width 768",
            image_size=224, patch_size=32, in_channels=3, embed_dim=768,
        ),
        "ViT-L/16 at 224": _p(
            "Dosovitskiy et al. (2021), ViT-L/16 at 224: 196 patches of 16x16, width 1024",
            image_size=224, patch_size=16, in_channels=3, embed_dim=1024,
        ),
    },
    "rnn": {
        # One layer of each two-layer model (the form is single-layer).
        "PTB small LSTM (200, 20 steps)": _p(
            "Zaremba et al. (2014), PTB small: LSTM of 200 units unrolled for 20 steps (one of its 2 layers)",
            cell="lstm", input_size=200, hidden_size=200, seq_len=20,
        ),
        "PTB medium LSTM (650, 35 steps)": _p(
            "Zaremba et al. (2014), PTB medium: LSTM of 650 units unrolled for 35 steps (one of its 2 layers)",
            cell="lstm", input_size=650, hidden_size=650, seq_len=35,
        ),
        "PTB large LSTM (1500, 35 steps)": _p(
            "Zaremba et al. (2014), PTB large: LSTM of 1500 units unrolled for 35 steps (one of its 2 layers)",
            cell="lstm", input_size=1500, hidden_size=1500, seq_len=35,
        ),
    },
    "ssm": {
        # The scan's per-channel sizes of one layer: d_model 768 expanded to d_inner 1536.
        "Mamba-130M scan (1536 x 16, 2048 steps)": _p(
            "Gu & Dao (2023), Mamba-130M sizes: 1536 inner channels, d_state 16, 2048-token training context "
            "(this scan is time-invariant as in S4, Gu et al. (2022); Mamba's own scan is selective)",
            d_model=1536, d_state=16, seq_len=2048,
        ),
    },
    "albert": {
        # The twin is the BERT-style model of the same sizes (Lan et al., 2019, Table 1 and 4).
        "ALBERT-base": _p(
            "Lan et al. (2019), Table 1; HF albert-base-v2 AlbertModel with its pooler: 11,683,584",
            **_ALBERT, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
        ),
        "ALBERT-large": _p(
            "Lan et al. (2019), Table 1; HF albert-large-v2 AlbertModel with its pooler: 17,683,968",
            **_ALBERT, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096,
        ),
        "ALBERT-xlarge": _p(
            "Lan et al. (2019), Table 1; HF albert-xlarge-v2 AlbertModel with its pooler: 58,724,864",
            **_ALBERT, hidden_size=2048, num_layers=24, num_heads=16, intermediate_size=8192,
        ),
        "ALBERT-xxlarge": _p(
            "Lan et al. (2019), Table 1; HF albert-xxlarge-v2 AlbertModel with its pooler: 222,595,584",
            **_ALBERT, hidden_size=4096, num_layers=12, num_heads=64, intermediate_size=16384,
        ),
        # No factorised embedding (E = H = 768), BERT's vocabulary.
        "BERT-base, one shared block": _p(
            "Devlin et al. (2019), BERT-base sizes with one block for all 12 layers; the twin is "
            "HF BertModel(bert-base-uncased): 109,482,240",
            **_BERT_EMBEDDINGS, vocab_size=30522, embedding_size=768, hidden_size=768, num_layers=12,
            num_heads=12, intermediate_size=3072,
        ),
    },
    "universal_transformer": {
        # tensor2tensor: universal_transformer_base is transformer_base with width 1024, 16 heads,
        # FFN 4096 and num_rec_steps = num_hidden_layers = 6; the adaptive variant halts by ACT
        # with act_max_steps = 2 * 6 = 12 and act_epsilon 0.01. Vocabulary: WMT14 En-De 32k
        # subwords (33,708 tokens in tensorflow/models' transformer).
        "UT base (WMT En-De)": _p(
            "Dehghani et al. (2019), tensor2tensor universal_transformer_base: width 1024, 16 heads, "
            "FFN 4096, 6 steps, WMT En-De 32k subwords",
            vocab_size=33708, hidden_size=1024, num_heads=16, intermediate_size=4096, num_layers=6,
        ),
        "Adaptive UT base (ACT, 12 steps)": _p(
            "Dehghani et al. (2019), tensor2tensor adaptive_universal_transformer_base: ACT, at most 12 steps",
            vocab_size=33708, hidden_size=1024, num_heads=16, intermediate_size=4096, num_layers=12,
            act=True, act_threshold=0.99,
        ),
    },
    "tied_embeddings": {
        # HF GPT2LMHeadModel ties lm_head to wte: 124,439,808; the tie saves 50,257 * 768 = 38,597,376.
        "GPT-2 small": _p(
            "Radford et al. (2019), GPT-2 small; HF GPT2LMHeadModel(gpt2): 124,439,808, head tied to wte",
            vocab_size=50257, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
            max_position_embeddings=1024,
        ),
        "GPT-2 medium": _p(
            "Radford et al. (2019), GPT-2 medium (355M): width 1024, 24 layers, 16 heads",
            vocab_size=50257, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096,
            max_position_embeddings=1024,
        ),
        # Width 512 and 6 layers are the Transformer-base sizes (Vaswani et al., 2017).
        "Small LM: vocab 50k x width 512": _p(
            "Press & Wolf (2017)'s case for small models: a 50k x 512 head (25,600,000) is 36% of the "
            "untied model (70,377,472)",
            vocab_size=50000, hidden_size=512, num_layers=6, num_heads=8, intermediate_size=2048,
            max_position_embeddings=512,
        ),
    },
    "tied_autoencoder": {
        "MNIST dA (784 -> 500)": _p(
            "Vincent et al. (2008) denoising autoencoder as in the deeplearning.net tutorial: "
            "784 pixels, 500 hidden units, W' = W^T",
            in_features=784, hidden_features=500,
        ),
        "MNIST 784 -> 1000": _p(
            "Hinton & Salakhutdinov (2006), first layer of the MNIST autoencoder: 784 -> 1000",
            in_features=784, hidden_features=1000,
        ),
    },
    "multitask": {
        # The form's encoder is an MLP; the widths are the realistic part.
        "MT-DNN-style: width 768, 8 GLUE tasks": _p(
            "Liu et al. (2019), MT-DNN: one 768-wide encoder shared by the GLUE tasks, a head each "
            "(here an MLP encoder, 3 labels as in MNLI)",
            in_features=768, hidden_size=768, num_layers=2, num_tasks=8, num_labels=3,
        ),
        "ResNet-50 features, 4 tasks": _p(
            "He et al. (2016), ResNet-50's 2048 pooled features into a 1024-wide shared trunk, 4 tasks of 10 labels",
            in_features=2048, hidden_size=1024, num_layers=2, num_tasks=4, num_labels=10,
        ),
    },
    "siamese": {
        "FaceNet-style 128-d embedding": _p(
            "Schroff et al. (2015), FaceNet: 128-d embeddings (here from 2048-d ResNet-50 features)",
            in_features=2048, hidden_features=1024, embed_dim=128,
        ),
        "Sentence pairs, width 768": _p(
            "Reimers & Gurevych (2019), Sentence-BERT-style pairs: 768-d inputs, 256-d embedding",
            in_features=768, hidden_features=768, embed_dim=256,
        ),
    },
    "gqa": {
        "Llama-2-70B attention": _p(
            "Touvron et al. (2023), Llama-2-70B: width 8192, 64 query heads, 8 K/V heads, no bias",
            hidden_size=8192, num_heads=64, groups=8, bias=False,
        ),
        "Mistral-7B attention": _p(
            "Jiang et al. (2023), Mistral-7B: width 4096, 32 query heads, 8 K/V heads, no bias",
            hidden_size=4096, num_heads=32, groups=8, bias=False,
        ),
        "Falcon-7B attention (MQA)": _p(
            "Almazrouei et al. (2023), Falcon-7B: multi-query, width 4544, 71 heads of 64, one K/V head, no bias",
            hidden_size=4544, num_heads=71, groups=1, bias=False,
        ),
    },
    "lora": {
        # Standard init (B = 0); alpha 16 as in PEFT's examples and QLoRA (Dettmers et al., 2023,
        # which uses rank 64).
        "rank 8, 4096x4096, 4 tasks": _p(
            "Hu et al. (2021), LoRA rank 8, on a 4096x4096 projection the size of Llama-2-7B's q_proj "
            "(Touvron et al., 2023), 4 tasks",
            in_features=4096, out_features=4096, rank=8, alpha=16.0, num_tasks=4, bias=False,
            init_lora_weights=True,
        ),
        "rank 64, 4096x4096, 4 tasks": _p(
            "Dettmers et al. (2023), QLoRA's rank 64 on a 4096x4096 projection, 4 tasks",
            in_features=4096, out_features=4096, rank=64, alpha=16.0, num_tasks=4, bias=False,
            init_lora_weights=True,
        ),
        "rank 8, 4096x4096, 16 tasks": _p(
            "Hu et al. (2021), LoRA rank 8 on a 4096x4096 projection, 16 tasks",
            in_features=4096, out_features=4096, rank=8, alpha=16.0, num_tasks=16, bias=False,
            init_lora_weights=True,
        ),
    },
    "hashednet": {
        # 784,000 virtual weights in 98,000 or 12,250 buckets.
        "784 -> 1000 at 1/8": _p(
            "Chen et al. (2015), HashedNets on MNIST: a 784 -> 1000 layer at compression factor 1/8",
            in_features=784, out_features=1000, num_buckets=98000,
        ),
        "784 -> 1000 at 1/64": _p(
            "Chen et al. (2015), HashedNets on MNIST: a 784 -> 1000 layer at compression factor 1/64",
            in_features=784, out_features=1000, num_buckets=12250,
        ),
    },
}


def source(form: str, name: str) -> str:
    """Where preset ``name`` of ``form`` comes from (``""`` for a name that is not a preset)."""
    preset = PRESETS.get(form, {}).get(name)
    return preset.source if preset else ""
