"""The LightningModule of the windowed systems and their autoencoder (the published loss: losses.corr_mse_loss)."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from ..models import build_model
from .losses import corr2_torch, corr_mse_loss


class WindowModule(pl.LightningModule):
    """Trains `system` on windows: the autoencoder itself (frames of spectrogram), or a published system on
    the frozen autoencoder's bottleneck codes; -corr2 + MSE, Adam, learning rate / 5 on plateaus."""

    def __init__(self, system: str, model_kwargs: dict, ae_kwargs: dict, lr: float, lr_factor: float,
                 lr_patience: int, meta: dict) -> None:
        super().__init__()
        self.system, self.lr, self.lr_factor, self.lr_patience = system, lr, lr_factor, lr_patience
        self.meta = meta
        self.net = build_model(system, **model_kwargs)
        self.ae = None if system == "autoencoder" else build_model("autoencoder", **ae_kwargs)
        if self.ae is not None:
            self.ae.requires_grad_(False)

    def _step(self, batch: Any, stage: str) -> torch.Tensor:
        if self.system == "autoencoder":
            rec, code = self.net(batch)
            loss = corr_mse_loss(rec, batch, per_sample=False) + (self.net.penalty(code) if stage == "train" else 0)
            corr = corr2_torch(rec, batch, per_sample=False).mean()
            n = batch.shape[0]
        else:
            x, y = batch
            self.ae.eval()
            with torch.no_grad():
                target = self.ae.encode(y)
            pred = self.net(x)
            loss = corr_mse_loss(pred, target)
            corr = corr2_torch(pred, target).mean()
            if stage == "train":
                loss = loss + self.net.penalty()
            n = x.shape[0]
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n,
                 sync_dist=True)
        self.log(f"{stage}_corr2", corr, on_step=False, on_epoch=True, prog_bar=stage == "val", batch_size=n,
                 sync_dist=True)
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=self.lr_factor, patience=self.lr_patience)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val_loss"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["lip2speech"] = self.meta
