"""Data: vocabularies, corpora and generated datasets, all available offline."""
from .corpora import (STDLIB_MODULES, STDLIB_MORE_MODULES, char_vocab, load_text_file, stdlib_docstrings_text,
                      stdlib_source_text, train_val_test_split, word_tokenize, word_vocab)
from .captions import CaptionSet, digit_captions, shape_captions  # chapter 6
from .vocab import Vocab

__all__ = ["Vocab", "STDLIB_MODULES", "STDLIB_MORE_MODULES", "stdlib_source_text", "stdlib_docstrings_text",
           "load_text_file", "train_val_test_split", "char_vocab", "word_tokenize", "word_vocab", "CaptionSet",
           "digit_captions", "shape_captions"]
