"""`digitrec batch read|predict`: an archive of image files read (or predicted) into one results
file, streamed and resumable: `inputs` (the files named, never listed whole), `results` (JSON
Lines or a Parquet folder, appended a chunk at a time), `engine` (a process pool over the cores,
each worker loading the model once)."""
