"""Writing a document: a report as data (`content`: title, provenance, sections of text, tables
and figures) rendered as Markdown, self-contained HTML and JSON; its plots (`plots`, matplotlib on
the Agg canvas, PNG bytes); its numbers (`numbers`, one formatter per kind). It knows nothing of
models or runs: `report` (the papers' comparisons and studies) decides what to measure and hands
the numbers here.
"""
