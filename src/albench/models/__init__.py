"""Networks: backbones (every one returns logits, a penultimate embedding and per-stage
features: :mod:`albench.models.base`), the heads that read those features
(:mod:`albench.models.heads`), VAAL's networks (:mod:`albench.models.vaal`) and the
name registry (:mod:`albench.models.registry`, torch-free)."""
