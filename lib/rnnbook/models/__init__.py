"""Complete models assembled from :mod:`rnnbook` layers: language models (:mod:`.lm`), encoder-decoders
(:mod:`.seq2seq`) and the image captioner (:mod:`.captioner`)."""
from .lm import LanguageModel, LSTMLM, RNNLM
from .seq2seq import AttentionSeq2Seq, PeekySeq2Seq, Seq2Seq  # chapter 5
from .captioner import Captioner  # chapter 6

__all__ = ["LanguageModel", "RNNLM", "LSTMLM", "Seq2Seq", "PeekySeq2Seq", "AttentionSeq2Seq", "Captioner"]
