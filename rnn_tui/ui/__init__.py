"""The Textual face. Imports torch only inside workers, so the first frame is quick."""
