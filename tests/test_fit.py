"""fit_run's checkpoints: last.ckpt holds the last epoch (where a run resumes), model.ckpt the kept one."""

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lip2speech.errors import Lip2SpeechError
from lip2speech.training.fit import fit_run
from lip2speech.training.hardware import resolve_hardware
from lip2speech.training.train_config import load_train_config


class WorseEveryEpoch(pl.LightningModule):
    """A tiny regression whose validation loss is its epoch number: its best epoch is the first."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", float(self.current_epoch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _fit(out, keep, epochs=3):
    data = DataLoader(TensorDataset(torch.randn(8, 2), torch.randn(8, 1)), batch_size=4)
    hw = resolve_hardware(load_train_config(None, {"accelerator": "cpu"}))
    fit_run(WorseEveryEpoch(), data, data, out, hw, epochs, patience=10, ckpt_path=None, show_progress=False,
            keep=keep)
    return {name: torch.load(out / name, weights_only=False)["epoch"] for name in ("model.ckpt", "last.ckpt")}


@pytest.mark.parametrize("keep, model_epoch", [("best", 0), ("last", 2)])
def test_last_ckpt_is_the_last_epoch_whichever_epoch_model_ckpt_keeps(tmp_path, keep, model_epoch):
    assert _fit(tmp_path, keep) == {"model.ckpt": model_epoch, "last.ckpt": 2}


def test_an_unknown_keep_is_a_one_line_error(tmp_path):
    with pytest.raises(Lip2SpeechError, match="unknown keep 'newest'"):
        load_train_config(None, {"keep": "newest"})
