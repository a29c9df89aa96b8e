"""metrics.csv: a resumed run keeps its earlier rows, and a new column rewrites the file whole."""

from lip2speech.training.metrics_csv import RunCsvLogger, epoch_seconds, read_rows


def test_resumed_log_keeps_earlier_rows_under_one_header_when_a_column_appears(tmp_path):
    first = RunCsvLogger(tmp_path)
    first.log_metrics({"epoch": 0, "val_loss": 0.5}, step=6)
    first.save()
    assert read_rows(tmp_path / "metrics.csv") == [{"epoch": "0", "step": "6", "val_loss": "0.5"}]

    again = RunCsvLogger(tmp_path)  # a resumed run: a new logger on the same folder
    again.log_metrics({"epoch": 1, "val_loss": 0.25}, step=13)
    again.log_metrics({"epoch": 1, "train_loss": 0.75, "epoch_seconds": 2.0}, step=13)
    again.save()
    rows = read_rows(tmp_path / "metrics.csv")
    assert (tmp_path / "metrics.csv").read_text().splitlines()[0] == "epoch,epoch_seconds,step,train_loss,val_loss"
    assert [r["epoch"] for r in rows] == ["0", "1", "1"]
    assert rows[2] == {"epoch": "1", "epoch_seconds": "2.0", "step": "13", "train_loss": "0.75", "val_loss": ""}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]  # no temporary file left
    assert epoch_seconds(tmp_path) == [2.0]  # only the rows that log an epoch's time


def test_no_rows_no_file(tmp_path):
    RunCsvLogger(tmp_path).save()
    assert read_rows(tmp_path / "metrics.csv") == []
