"""The item index: item ids numbered 0..n_items-1 in order of first appearance."""
import numpy as np
import pandas as pd


class ItemIndex:
    """Original item ids in first-appearance order; ``ids[code]`` is the id of a code.

    Ids keep their type (ints stay ints, strings stay strings). :meth:`map_items` turns
    ids (e.g. of test data) into codes, -1 for ids not in the index.
    """

    def __init__(self, ids):
        index = pd.Index(ids)
        if not index.is_unique:
            raise ValueError("ItemIndex: item ids must be unique")
        self._index = index
        self.ids = index.to_numpy()

    @classmethod
    def from_items(cls, items):
        """Index and int32 codes of a sequence of item ids (first appearance order)."""
        codes, uniques = pd.factorize(np.asarray(items) if not isinstance(items, (pd.Series, pd.Index))
                                      else items, sort=False)
        index = cls.__new__(cls)
        index._index = pd.Index(uniques)
        index.ids = index._index.to_numpy()
        return index, codes.astype(_code_dtype(len(uniques)), copy=False)

    def extended_with(self, items):
        """(grown index, codes) for training data ``items`` over this index: known ids keep
        their codes, ids not in this index are appended after the existing ones in order of
        first appearance in ``items`` (the codes the same items would get from
        :meth:`from_items` on old data followed by new data). ``self`` is not modified.
        Integer and string ids cannot be mixed."""
        vals = np.asarray(items) if not isinstance(items, (pd.Series, pd.Index)) else items.to_numpy()
        codes = self._index.get_indexer(pd.Index(vals)).astype(np.int64)
        unknown = codes < 0
        if not unknown.any():
            return self, codes.astype(_code_dtype(len(self.ids)), copy=False)
        new_ids = pd.unique(vals[unknown])
        old_int, new_int = self.ids.dtype.kind in "iu", np.asarray(new_ids).dtype.kind in "iu"
        if len(self.ids) and old_int != new_int:
            raise ValueError(f"ItemIndex: cannot add {'integer' if new_int else 'non-integer'} item "
                             f"ids (e.g. {new_ids[:3].tolist()}) to an index of "
                             f"{'integer' if old_int else 'non-integer'} ids")
        codes[unknown] = len(self.ids) + pd.Index(new_ids).get_indexer(pd.Index(vals[unknown]))
        grown = ItemIndex(np.concatenate([self.ids, np.asarray(new_ids, dtype=self.ids.dtype
                                                               if old_int == new_int else object)]))
        return grown, codes.astype(_code_dtype(len(grown.ids)), copy=False)

    def __len__(self):
        return len(self.ids)

    @property
    def n_items(self):
        return len(self.ids)

    def map_items(self, ids):
        """Codes of ``ids`` (int32/int64 array), -1 where an id is not in the index."""
        codes = self._index.get_indexer(pd.Index(np.asarray(ids) if not isinstance(ids, (pd.Series, pd.Index))
                                                 else ids))
        return codes.astype(_code_dtype(len(self.ids)), copy=False)

    def __repr__(self):
        return f"ItemIndex(n_items={len(self.ids)}, dtype={self.ids.dtype})"


def _code_dtype(n):
    return np.int32 if n < 2**31 - 1 else np.int64
