"""Models: output shapes, published parameter budget, registry errors, trainability."""

import pytest
import torch

from lip2speech.errors import Lip2SpeechError
from lip2speech.models import build_model, param_count


def test_autoencoder_shapes_and_bottleneck_range():
    ae = build_model("autoencoder").eval()
    x = torch.rand(10, 128)
    with torch.no_grad():
        rec, code = ae(x)
    assert rec.shape == (10, 128) and code.shape == (10, 32)
    assert float(code.min()) >= 0 and float(code.max()) <= 1
    assert ae.encode(torch.rand(3, 26, 128)).shape == (3, 26, 32)
    assert ae.decode(torch.rand(3, 26, 32)).shape == (3, 26, 128)


@pytest.mark.parametrize("name,x,out", [
    ("gf2s", (4, 5, 14), (4, 26, 32)),
    ("gp2s", (4, 3, 5, 40, 80), (4, 26, 32)),
    ("lip2audspec", (2, 3, 10, 64, 64), (2, 52, 32)),
])
def test_systems_output_codes_in_unit_range(name, x, out):
    m = build_model(name, lstm=16, dense=32).eval()
    with torch.no_grad():
        y = m(torch.randn(*x))
    assert y.shape == out
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_published_layer_sizes():
    ae = build_model("autoencoder")
    dims = [l.out_features for l in ae.modules() if isinstance(l, torch.nn.Linear)]
    assert dims == [512, 128, 64, 32, 64, 128, 128]
    gf = build_model("gf2s")
    assert gf.lstm.hidden_size == 512 and gf.lstm.input_size == 14
    gp = build_model("gp2s")
    assert gp.conv.out_channels == 16 and gp.conv.kernel_size == (3, 3, 3)
    assert gp.lstm.input_size == 16 * 20 * 40
    l2a = build_model("lip2audspec")
    convs = [c.out_channels for c in l2a.modules() if isinstance(c, torch.nn.Conv3d)]
    assert convs == [32, 32, 32, 64, 64, 128, 128]
    assert sum(isinstance(c, torch.nn.MaxPool3d) for c in l2a.modules()) == 5
    # parameter counts grow with the configured sizes
    assert param_count(build_model("gf2s", lstm=32, dense=64)) < param_count(gf)
    assert param_count(ae) == sum(p.numel() for p in ae.parameters())


def test_gp2s_conv_penalty_is_l2_of_kernel():
    gp = build_model("gp2s", lstm=8, dense=8, conv_l2=5e-4)
    assert torch.isclose(gp.penalty(), 5e-4 * gp.conv.weight.pow(2).sum())


def test_unknown_model_and_bad_arguments():
    with pytest.raises(Lip2SpeechError, match="unknown system"):
        build_model("nope")
    with pytest.raises(Lip2SpeechError, match="bad model arguments"):
        build_model("gf2s", nonsense=3)


def test_gf2s_learns_a_simple_mapping():
    torch.manual_seed(0)
    m = build_model("gf2s", lstm=16, dense=32, dropout_lstm=0.0, dropout_dense=0.0)
    x = torch.randn(64, 5, 14)
    y = torch.sigmoid(x[:, :, :1].mean(1, keepdim=True)).expand(64, 26, 32)
    opt = torch.optim.Adam(m.parameters(), 1e-2)
    first = None
    for _ in range(60):
        loss = torch.mean((m(x) - y) ** 2)
        first = first if first is not None else loss.item()
        opt.zero_grad(); loss.backward(); opt.step()
    assert loss.item() < 0.3 * first


def test_gf2s_reads_the_studys_26_steps_of_21_values():
    m = build_model("gf2s", lstm=16, dense=32, frames=26, n_features=21).eval()
    assert m.lstm.input_size == 21
    with torch.no_grad():
        assert m(torch.randn(3, 26, 21)).shape == (3, 26, 32)
    with pytest.raises(RuntimeError):
        m(torch.randn(3, 5, 14))
