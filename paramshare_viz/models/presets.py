"""Named configs of published architectures, one table per sharing form.

Each preset is a dict of config overrides for ``psv.zoo.build(form, **overrides)``
(read them through :func:`paramshare_viz.zoo.presets`). The comment above each
one names its source. Most are too large to allocate comfortably on a laptop;
build them with ``device="meta"`` to count without allocating.

>>> import paramshare_viz as psv
>>> albert = psv.zoo.build("albert", device="meta", **psv.zoo.presets("albert")["ALBERT-base"])
>>> sum(p.numel() for p in albert.parameters())  # HF AlbertModel("albert-base-v2")
11683584
"""

from __future__ import annotations

from typing import Any

# BERT / ALBERT sizes shared by several presets (Devlin et al., 2019; Lan et al., 2019, Table 1;
# the Hugging Face configs of bert-base-uncased and albert-*-v2).
_BERT_EMBEDDINGS: dict[str, Any] = dict(max_position_embeddings=512, type_vocab_size=2, add_pooler=True)
_ALBERT: dict[str, Any] = dict(vocab_size=30000, embedding_size=128, **_BERT_EMBEDDINGS)

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "conv": {
        # LeCun et al. (1998), "Gradient-based learning applied to document recognition": C1 has
        # six 5x5 kernels on the 32x32 input, "156 trainable parameters, and 122,304 connections"
        # (= the locally connected twin: 28*28 positions * 156).
        "LeNet-5 C1": dict(in_channels=1, out_channels=6, kernel_size=5, stride=1, padding=0, image_size=32),
        # He et al. (2016), ResNet-50 conv1: 64 7x7 kernels, stride 2, padding 3, no bias (BatchNorm
        # follows) on 224x224; torchvision's resnet50().conv1.weight has 64*3*7*7 = 9,408 elements.
        "ResNet-50 stem": dict(
            in_channels=3, out_channels=64, kernel_size=7, stride=2, padding=3, image_size=224, bias=False
        ),
        # Liu et al. (2022), ConvNeXt-T stage 1: depthwise Conv2d(96, 96, 7, padding=3, groups=96)
        # on the 56x56 map after the 4x4 stem.
        "ConvNeXt-T depthwise 7x7": dict(
            in_channels=96, out_channels=96, kernel_size=7, stride=1, padding=3, groups=96, image_size=56
        ),
    },
    "patch_embed": {
        # Dosovitskiy et al. (2021), ViT-B/16 at 224: 16x16 patches, width 768 (196 patches);
        # timm's vit_base_patch16_224 patch_embed.proj holds 768*3*16*16 + 768 = 590,592.
        "ViT-B/16 at 224": dict(image_size=224, patch_size=16, in_channels=3, embed_dim=768),
        # ViT-B/32 at 224: 49 patches of 32x32.
        "ViT-B/32 at 224": dict(image_size=224, patch_size=32, in_channels=3, embed_dim=768),
        # ViT-L/16 at 224: width 1024.
        "ViT-L/16 at 224": dict(image_size=224, patch_size=16, in_channels=3, embed_dim=1024),
    },
    "rnn": {
        # Zaremba et al. (2014), PTB word-level LSTMs unrolled for 35 steps (one layer of each
        # two-layer model): medium 650 units, large 1500 units; the small model is 200 units, 20 steps.
        "PTB small LSTM (200, 20 steps)": dict(cell="lstm", input_size=200, hidden_size=200, seq_len=20),
        "PTB medium LSTM (650, 35 steps)": dict(cell="lstm", input_size=650, hidden_size=650, seq_len=35),
        "PTB large LSTM (1500, 35 steps)": dict(cell="lstm", input_size=1500, hidden_size=1500, seq_len=35),
    },
    "ssm": {
        # Gu & Dao (2023), Mamba-130M: d_model 768 expanded to d_inner 1536 channels, d_state 16,
        # trained on 2048-token contexts (the scan's per-channel sizes, one layer).
        "Mamba-130M scan (1536 x 16, 2048 steps)": dict(d_model=1536, d_state=16, seq_len=2048),
    },
    "albert": {
        # Lan et al. (2019), Table 1; Hugging Face albert-{base,large,xlarge,xxlarge}-v2 with the
        # pooler (AlbertModel's default). The twin is the BERT-style model of the same sizes.
        "ALBERT-base": dict(_ALBERT, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072),
        "ALBERT-large": dict(_ALBERT, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096),
        "ALBERT-xlarge": dict(_ALBERT, hidden_size=2048, num_layers=24, num_heads=16, intermediate_size=8192),
        "ALBERT-xxlarge": dict(_ALBERT, hidden_size=4096, num_layers=12, num_heads=64, intermediate_size=16384),
        # BERT-base (bert-base-uncased: vocab 30,522, no factorised embedding) with one shared block:
        # the twin is exactly HF BertModel, 109,482,240 parameters.
        "BERT-base, one shared block": dict(
            _BERT_EMBEDDINGS, vocab_size=30522, embedding_size=768, hidden_size=768, num_layers=12,
            num_heads=12, intermediate_size=3072,
        ),
    },
    "universal_transformer": {
        # Dehghani et al. (2019); tensor2tensor's universal_transformer_base: transformer_base with
        # width 1024, 16 heads, FFN 4096, 6 recurrent steps (num_rec_steps = num_hidden_layers),
        # on the WMT14 En-De 32k subword vocabulary (33,708 tokens).
        "UT base (WMT En-De)": dict(
            vocab_size=33708, hidden_size=1024, num_heads=16, intermediate_size=4096, num_layers=6
        ),
        # adaptive_universal_transformer_base: the same with ACT, at most act_max_steps = 2 * 6 = 12
        # steps, act_epsilon 0.01.
        "Adaptive UT base (ACT, 12 steps)": dict(
            vocab_size=33708, hidden_size=1024, num_heads=16, intermediate_size=4096, num_layers=12,
            act=True, act_threshold=0.99,
        ),
    },
    "tied_embeddings": {
        # Radford et al. (2019), GPT-2 small: HF GPT2LMHeadModel ties lm_head to wte,
        # 124,439,808 parameters; the tie saves 50,257 * 768 = 38,597,376.
        "GPT-2 small": dict(
            vocab_size=50257, hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
            max_position_embeddings=1024,
        ),
        # GPT-2 medium (355M): width 1024, 24 layers, 16 heads.
        "GPT-2 medium": dict(
            vocab_size=50257, hidden_size=1024, num_layers=24, num_heads=16, intermediate_size=4096,
            max_position_embeddings=1024,
        ),
        # The case Press & Wolf (2017) make for small models: a 50k vocabulary at width 512 (the
        # Transformer-base width, 6 layers) is a 25,600,000-parameter head, most of the model.
        "Small LM: vocab 50k x width 512": dict(
            vocab_size=50000, hidden_size=512, num_layers=6, num_heads=8, intermediate_size=2048,
            max_position_embeddings=512,
        ),
    },
    "tied_autoencoder": {
        # Vincent et al. (2008) denoising autoencoder as in the deeplearning.net dA tutorial:
        # 28x28 MNIST pixels, 500 hidden units, decoder W' = W^T.
        "MNIST dA (784 -> 500)": dict(in_features=784, hidden_features=500),
        # Hinton & Salakhutdinov (2006)'s first MNIST layer, 784 -> 1000.
        "MNIST 784 -> 1000": dict(in_features=784, hidden_features=1000),
    },
    "multitask": {
        # Liu et al. (2019), MT-DNN: one BERT-base-wide (768) encoder shared by the GLUE tasks,
        # a small head each (here an MLP encoder of that width; 8 tasks, 3 labels as in MNLI).
        "MT-DNN-style: width 768, 8 GLUE tasks": dict(
            in_features=768, hidden_size=768, num_layers=2, num_tasks=8, num_labels=3
        ),
        # ResNet-50 pooled features (2048) into a 1024-wide shared trunk, 4 attribute tasks.
        "ResNet-50 features, 4 tasks": dict(in_features=2048, hidden_size=1024, num_layers=2, num_tasks=4, num_labels=10),
    },
    "siamese": {
        # Schroff et al. (2015), FaceNet: 128-d embeddings compared by distance; here from
        # 2048-d ResNet-50 features through a 1024-wide hidden layer.
        "FaceNet-style 128-d embedding": dict(in_features=2048, hidden_features=1024, embed_dim=128),
        # Sentence-BERT-style pairs (Reimers & Gurevych, 2019): 768-d inputs, 768 hidden, 256-d embedding.
        "Sentence pairs, width 768": dict(in_features=768, hidden_features=768, embed_dim=256),
    },
    "gqa": {
        # Touvron et al. (2023), Llama-2-70B attention: width 8192, 64 query heads, 8 K/V heads, no bias.
        "Llama-2-70B attention": dict(hidden_size=8192, num_heads=64, groups=8, bias=False),
        # Jiang et al. (2023), Mistral-7B attention: width 4096, 32 query heads, 8 K/V heads, no bias.
        "Mistral-7B attention": dict(hidden_size=4096, num_heads=32, groups=8, bias=False),
        # Falcon-7B: multi-query attention, width 4544, 71 heads of 64, one K/V head, no bias.
        "Falcon-7B attention (MQA)": dict(hidden_size=4544, num_heads=71, groups=1, bias=False),
    },
    "lora": {
        # Hu et al. (2021) LoRA on a 4096x4096 projection (Llama-2-7B's q_proj, no bias), one adapter
        # per task, standard init (B = 0); alpha 16 as in PEFT's examples and QLoRA (Dettmers et al.,
        # 2023, which uses rank 64).
        "rank 8, 4096x4096, 4 tasks": dict(
            in_features=4096, out_features=4096, rank=8, alpha=16.0, num_tasks=4, bias=False, init_lora_weights=True
        ),
        "rank 64, 4096x4096, 4 tasks": dict(
            in_features=4096, out_features=4096, rank=64, alpha=16.0, num_tasks=4, bias=False, init_lora_weights=True
        ),
        "rank 8, 4096x4096, 16 tasks": dict(
            in_features=4096, out_features=4096, rank=8, alpha=16.0, num_tasks=16, bias=False, init_lora_weights=True
        ),
    },
    "hashednet": {
        # Chen et al. (2015), HashedNets on MNIST: a 784 -> 1000 hidden layer at the paper's
        # compression factors 1/8 and 1/64 (784,000 virtual weights in 98,000 or 12,250 buckets).
        "784 -> 1000 at 1/8": dict(in_features=784, out_features=1000, num_buckets=98000),
        "784 -> 1000 at 1/64": dict(in_features=784, out_features=1000, num_buckets=12250),
    },
}
