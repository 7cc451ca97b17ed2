"""Data: loaders for standard on-disk formats, checksums, downloads, corruptions, episodes.

Every loader reads from a folder the user names (``data_dir``; ``--data-dir`` on the command
line) and never from a fixed location. Images come back as float32 ``[N, C, H, W]`` in ``[0, 1]``
and labels as int64 (see :mod:`ahtga.data._common`). Decoding JPEG/PNG class folders needs the
optional Pillow; nothing else does.
"""
from ._common import ArrayDataset, check_dir, check_file
from .checksums import KNOWN_FILES, ChecksumError, file_digest, verify_file
from .cifar import CIFAR10_CLASSES, load_cifar10, load_cifar100, load_cifar10_npz, read_cifar_pickle
from .corruptions import (CIFAR10_FLIPS, MNIST_FLIPS, asymmetric_label_noise, cifar100_flips, contrast,
                          gaussian_blur, gaussian_kernel1d, gaussian_noise, noise_transition_matrix,
                          random_crop_flip, stratified_subset, symmetric_label_noise)
from .digits import load_digits, stratified_split
from .download import SOURCES, DownloadError, download, download_file
from .episodes import Episode, EpisodeSampler, MetaDatasetSampler, class_index
from .folders import ImageFolder, decode_image, load_cifar10_folders, load_image_folder, resize_center_crop
from .glue import GLUE_TASKS, BasicTokenizer, GlueSplit, load_glue
from .miniimagenet import MiniImageNet
from .mnist import load_fashion_mnist, load_mnist, read_idx
from .omniglot import OneShotRun, load_omniglot_npz, load_one_shot_runs
from .png import decode_png
from .registry import CORPORA, DATASETS, load_corpus, load_dataset
from .stats import MEAN_STD, normalize
from .text import TextCorpus, Vocab, batchify, lm_batch, load_char_text, load_ptb, load_tiny_shakespeare, load_wikitext2

__all__ = [n for n in dir() if not n.startswith("_")]
