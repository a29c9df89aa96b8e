"""The LightningModule that trains gu2s on whole utterances: spectrogram loss (+ sharpness), CTC words, and
optionally a patch critic's adversarial and feature-matching terms."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from ..models import build_model
from .losses import ctc_loss, frame_mask, spectrogram_loss


class UtteranceModule(pl.LightningModule):
    """gu2s with its losses: L1 + (1 - corr2) + sharpness x difference-L1 + ctc_weight x CTC (+ optional
    linear-domain corr2, band-envelope and loudness terms; + adversarial x fooling and feature_matching x matching a
    patch critic trained beside it, training only); AdamW, one-cycle."""

    def __init__(self, model_kwargs: dict[str, Any], lr: float = 2e-3, weight_decay: float = 1e-2,
                 sharpness: float = 1.0, ctc_weight: float = 0.1, linear_corr2: float = 0.0,
                 envelope_corr: float = 0.0, loudness_corr: float = 0.0, meta: dict[str, Any] | None = None,
                 recogniser: torch.nn.Module | None = None, recognisability: float = 0.0,
                 adversarial: float = 0.0, feature_matching: float = 0.0) -> None:
        super().__init__()
        self.net = build_model("gu2s", **model_kwargs)
        self.lr, self.weight_decay, self.sharpness, self.ctc_weight = lr, weight_decay, sharpness, ctc_weight
        self.linear_corr2, self.envelope_corr, self.loudness_corr = linear_corr2, envelope_corr, loudness_corr
        self.meta = meta or {}
        # the frozen spectrogram recogniser: not a submodule, so it is neither trained nor saved with the model
        object.__setattr__(self, "recogniser", recogniser)
        self.recognisability = recognisability if recogniser is not None else 0.0
        self.adversarial, self.feature_matching = adversarial, feature_matching
        if adversarial > 0 or feature_matching > 0:
            from ..models.critic import SpectrogramCritic

            self.critic = SpectrogramCritic()  # trained beside the model; left out of exported weights

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        return self.net(batch["gp"] if self.net.use_gp else None, batch["gf"] if self.net.use_gf else None,
                        batch["lengths"], batch.get("mouth"))

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        out = self(batch)
        mask = frame_mask(batch["spec_lengths"], out["spec"].shape[1])
        terms = spectrogram_loss(out["spec"], batch["spec"], mask, self.sharpness, self.linear_corr2,
                                 self.envelope_corr, self.loudness_corr)
        loss = terms["loss"]
        if out["logits"] is not None and self.ctc_weight > 0:
            terms["ctc"] = ctc_loss(out["logits"], batch["lengths"], batch["tokens"], batch["token_lengths"])
            loss = loss + self.ctc_weight * terms["ctc"]
        if self.recognisability > 0:  # the predicted speech's words, as the frozen recogniser hears them
            from .recogniser import ctc_of

            terms["recognisability"] = ctc_of(self.recogniser.to(out["spec"].device), out["spec"],
                                              batch["spec_lengths"], batch["tokens"], batch["token_lengths"])
            loss = loss + self.recognisability * terms["recognisability"]
        if stage == "train" and (self.adversarial > 0 or self.feature_matching > 0):
            from .adversarial import critic_terms

            adv = critic_terms(self.critic, out["spec"], batch["spec"], mask)
            terms.update(adv)  # the critic's own loss moves only the critic (see critic_terms)
            loss = loss + adv["critic"] + self.adversarial * adv["adversarial"] + \
                self.feature_matching * adv["feature_matching"]
        n = int(batch["lengths"].shape[0])
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n,
                 sync_dist=True)
        self.log(f"{stage}_corr2", terms["corr2"], on_step=False, on_epoch=True, prog_bar=stage == "val",
                 batch_size=n, sync_dist=True)
        for name in ("envelope", "loudness", "ctc", "recognisability", "critic", "adversarial", "feature_matching"):
            if name in terms:
                self.log(f"{stage}_{name}", terms[name], on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        params = list(self.net.parameters()) + (list(self.critic.parameters()) if hasattr(self, "critic") else [])
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        steps = max(1, int(self.trainer.estimated_stepping_batches))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=steps, pct_start=0.15)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["lip2speech"] = self.meta


def utterance_training(cfg: Any, split: dict[str, list[str]], load: Any, manifest: dict[str, dict],
                       features_dir: Any, meta: dict[str, Any]) -> tuple[UtteranceModule, Any, Any]:
    """The module and train/validation datasets of a gu2s run; fills `meta` with what rebuilds the model."""
    from ..data import lip_inputs as LI, splits as SP
    from ..data.utterance import UtteranceDataset

    first = load(split["train"][0])
    gp = first["lips"]["gp"]
    model_kwargs = {"height": int(gp.shape[1]), "width": int(gp.shape[2]), **cfg.model}
    if not first.get("words"):  # no transcripts (not GRID-named): nothing to read, no CTC head
        model_kwargs["ctc"] = False
    lips = lambda: ((manifest[k]["speaker"], load(k)["lips"]) for k in split["train"])  # noqa: E731
    # a fine-tuned base model may read the mouth region whatever this config says: its stats are made too
    mouth = bool(cfg.model.get("use_mouth", False))
    if mouth:
        region = LI.mouth_region(first["lips"]["faces"][:1])
        model_kwargs.update(mouth_height=int(region.shape[1]), mouth_width=int(region.shape[2]))
    kinds = ("gf", "gp") + (("mouth",) if mouth or cfg.init_from else ())
    stats = {kind: LI.compute_stats(kind, lips) for kind in kinds}
    base = None
    if cfg.init_from:  # fine-tune a trained model: its net and sizes, its stats with these speakers' added
        from .base_model import init_weights
        from ..errors import Lip2SpeechError

        base, known = init_weights(cfg.init_from, stats)
        model_kwargs, stats = known["model_kwargs"], known["stats"]
        if (model_kwargs.get("height"), model_kwargs.get("width")) != tuple(gp.shape[1:]):
            raise Lip2SpeechError(f"{cfg.init_from} reads {model_kwargs.get('height')}x{model_kwargs.get('width')} "
                                  f"Gabor pictures, these features have {gp.shape[1]}x{gp.shape[2]}", features_dir)
        mouth = bool(model_kwargs.get("use_mouth", False))
        side = int(first["lips"]["faces"].shape[1])
        if not LI.reads_face_size(model_kwargs, side):
            want = LI.model_face_size(model_kwargs)
            raise Lip2SpeechError(f"{cfg.init_from} reads face crops of {want} px, these features have {side} px: "
                                  f"prepare them with --face-size {want}", features_dir)
        meta.update(members=known["members"], init_from=cfg.init_from)
        # the model's own speaker, what speak normalises unnamed footage by: the first speaker new to the base model
        # (`lip2speech adapt`), else the base's own; more training on the base's speakers leaves unnamed footage
        # normalised by itself, as the base did
        new = sorted({manifest[k]["speaker"] for k in split["train"]} - set(known["speakers"]))
        if new or known["speaker"]:
            meta["speaker"] = new[0] if new else known["speaker"]
    lips_from = SP.derangement(split["train"], cfg.seed) if cfg.shuffle_lips else None
    train_ds = UtteranceDataset(split["train"], load, stats, augment=cfg.augment, seed=cfg.seed,
                                cache_size=cfg.cache_utterances, lips_from=lips_from, time_mask=cfg.time_mask,
                                shift_pixels=cfg.shift_pixels, speed=cfg.speed, mouth=mouth)
    val_ds = UtteranceDataset(split["val"], load, stats, cache_size=cfg.cache_utterances, mouth=mouth)
    meta.update(model_kwargs=model_kwargs, kind="utterance", task=cfg.task,
                stats={k: v.to_dict() for k, v in stats.items()})
    recogniser = None
    if cfg.recognisability > 0:
        from .recogniser import load_recogniser

        recogniser = load_recogniser(cfg.recogniser)
    module = UtteranceModule(model_kwargs, lr=cfg.lr, weight_decay=cfg.weight_decay, sharpness=cfg.sharpness,
                             linear_corr2=cfg.linear_corr2, envelope_corr=cfg.envelope_corr,
                             loudness_corr=cfg.loudness_corr,
                             ctc_weight=cfg.ctc_weight if model_kwargs.get("ctc", True) else 0.0, meta=meta,
                             recogniser=recogniser, recognisability=cfg.recognisability,
                             adversarial=cfg.adversarial, feature_matching=cfg.feature_matching)
    if base is not None:
        module.net = base
    return module, train_ds, val_ds
