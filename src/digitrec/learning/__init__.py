"""Learning from users: models fine-tuned on the corrections they submit (`retrain`), the
regression gate that decides whether one may replace the model in use (`gate`), and the
unattended loop that does both after every N new corrections (`watch`)."""
