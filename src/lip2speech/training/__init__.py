"""Training: what defines a run (train_config.py), where it computes (hardware.py), its folder and checkpoint
(run_folder.py), the LightningModules (window_module.py, utterance_module.py) and their losses (losses.py), the
one place that drives Lightning's Trainer (fit.py), train_system (train.py), many runs at once
(batch_training.py), and the trained models shipped inside the package (shipped.py, weights/).

Import the modules themselves (`from lip2speech.training.train import train_system`): this face loads nothing,
so that inference can read run folders and shipped models without Lightning."""
