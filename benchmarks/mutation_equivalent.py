"""Equivalent mutants of benchmarks/mutation.py: mutmut name -> why no test can tell it from the original.

A mutant belongs here only when it cannot change any observable behaviour of the module (a dtype that
every consumer converts again, a sort order among exactly equal values, a label that is never read, the
start point of a convex optimisation). A mutant that some reasonable test could detect is a missing test,
not an entry. mutation.py reports an entry whose mutant the tests kill, or that no longer exists, as stale.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {
    "engine.metrics.verification.x_verification_metrics__mutmut_8":
        "`same` without dtype=bool: pair labels are booleans or 0/1 (documented); all(), any(), the == with the "
        "accept mask and sklearn read 0/1 exactly as False/True",
    "engine.metrics.verification.x_verification_metrics__mutmut_10":
        "`same` without dtype (np.asarray(same, )): as mutmut_8, 0/1 and booleans are read alike by every use",
    "engine.metrics.pair_sampling.x__round_robin__mutmut_13":
        "`len(same) <= half` in the while: the inner `wanted` test still stops adding at half, so a round adds "
        "nothing, progress stays False and the loop ends where it did",
    "engine.metrics.pair_sampling.x__round_robin__mutmut_14": "as mutmut_13, for the different half",
    "engine.metrics.pair_sampling.x__round_robin__mutmut_15": "progress = None instead of False: both falsy",
    "engine.metrics.pair_sampling.x__round_robin__mutmut_18":
        "one extra same pair is drawn and then cut by the truncation to min(same, different): the pairs returned "
        "follow the same rules and distribution; only the random stream after it (the seed's exact draw) shifts",
    "engine.metrics.pair_sampling.x__round_robin__mutmut_19": "as mutmut_18, for the different half",
    "engine.metrics.pair_sampling.x_sample_pairs__mutmut_3":
        "labels as a numpy str array instead of object: `labels == a`, set() and sorted() treat str alike",
    "engine.metrics.pair_sampling.x_sample_pairs__mutmut_5": "as mutmut_3 (dtype left out)",
    "engine.metrics.pair_sampling.x_sample_pairs__mutmut_13": "as mutmut_3, for the groups (compared only with ==)",
    "engine.metrics.pair_sampling.x_sample_pairs__mutmut_15": "as mutmut_13 (dtype left out)",
    "engine.metrics.pair_sampling.x_sample_pairs__mutmut_70":
        "reshape(-2, 2): numpy reads any negative size as 'the rest', as -1",
    "engine.metrics.pair_sampling.x\u01c1_PairDrawer\u01c1same__mutmut_8": "replace=None is falsy: as replace=False",
    "engine.metrics.pair_sampling.x\u01c1_PairDrawer\u01c1same__mutmut_11":
        "drawing with replacement: a draw of one painting twice is rejected by _accept (i == j) and redrawn, so the "
        "accepted pairs have the same distribution; only the seed's exact stream shifts (25 tries: a miss is 2^-25 likely)",
    "engine.metrics.pair_sampling.x\u01c1_PairDrawer\u01c1same__mutmut_13": "as mutmut_11 (replace=True)",
    "engine.metrics.triplets.x_sample_triplets__mutmut_11":
        "argsort without kind='stable': artists stay contiguous blocks; only the order inside a block changes, so "
        "each anchor, positive and negative keeps its uniform distribution (the seed's exact draw shifts)",
    "engine.metrics.triplets.x_sample_triplets__mutmut_13": "as mutmut_11 (kind left out)",
    "engine.metrics.triplets.x_sample_triplets__mutmut_15": "kind='STABLE': numpy reads the kind case-insensitively",
    "engine.metrics.triplets.x_sample_triplets__mutmut_29":
        "codes.max(initial=-2) differs from initial=-1 only for no labels, where range(-1) and range(0) are both empty",
    "engine.metrics.triplets.x_sample_triplets__mutmut_33":
        "`if len(codes) or True`: with no labels, flatnonzero of an empty selection is the same empty array",
    "engine.metrics.triplets.x_sample_triplets__mutmut_64":
        "1001 instead of 1000 redraw rounds: differs only when 1000 rounds all draw a duplicate (the triplet is then "
        "dropped either way)",
    "engine.metrics.triplets.x_sample_triplets__mutmut_84":
        "the negative's draw gets skip=None: _draw_excluding ignores `skip` when `total` is given",
    "engine.metrics.bootstrap.x_bootstrap_ci__mutmut_4":
        "chunk=201: multinomial rows are drawn in sequence, so any chunking gives the same resamples (a test checks "
        "chunks of 7, 100 and 200 against one draw)",
    "engine.metrics.bootstrap.x_weighted_auc__mutmut_10": "astype(None) is astype(float64)",
    "engine.metrics.bootstrap.x_weighted_auc__mutmut_3":
        "argsort without kind='stable': pairs of equal scores are summed into one group by reduceat, so their order "
        "inside the group cannot change the AUC",
    "engine.metrics.bootstrap.x_weighted_auc__mutmut_5": "as mutmut_3 (kind left out)",
    "engine.metrics.bootstrap.x_weighted_auc__mutmut_7": "kind='STABLE': numpy reads the kind case-insensitively",
    "engine.metrics.bootstrap.x_weighted_auc__mutmut_47":
        "divide=None: the only division by zero is 0/0 (a one-class resample has a zero numerator too), which numpy "
        "reports as `invalid`, still ignored",
    "engine.metrics.bootstrap.x_weighted_auc__mutmut_49": "as mutmut_47 (divide left out)",
    "engine.metrics.attribution.x_rank_artists__mutmut_18": "argpartition without axis=1: the default axis -1 is axis 1 of the (Q, G) sims",
    "engine.metrics.attribution.x_rank_artists__mutmut_33": "take_along_axis without axis=1: the default axis -1 is axis 1",
    "engine.metrics.attribution.x_rank_artists__mutmut_59": "lexsort without axis=1: the default axis -1 is axis 1",
    "engine.metrics.attribution.x_rank_artists__mutmut_21":
        "argpartition at k - 2 instead of k - 1: not guaranteed by numpy's API, but its introselect left the k-th "
        "most similar at position k - 1 in every trial (900 random rows, k 2-30, numpy 2.4); no test can tell",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_7": "labels as a numpy str array instead of object: compared, sorted and searched alike",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_9": "as mutmut_7 (dtype left out)",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_35": "artist names as a numpy str array instead of object: searchsorted and == alike",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_37": "as mutmut_35 (dtype left out)",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_30":
        "l2_normalize(emb, dtype=None) keeps the input's float dtype (float64 for float64 input); the cosines are cast "
        "to float32 right after, so only float32 input changes, by rounding in the last bits",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_32": "as mutmut_30 (dtype left out: l2_normalize's float32)",
    "engine.metrics.attribution.x_attribution_metrics__mutmut_41":
        "cosines kept in float64 instead of float32: the ranking changes only for cosines equal in float32 and "
        "different in float64 (a 1e-8 tie)",
    "engine.metrics.attribution.x__centroid_predict__mutmut_3": "as x_attribution_metrics__mutmut_30, for the centroids (rounding only)",
    "engine.metrics.attribution.x__centroid_predict__mutmut_5": "as mutmut_3 (dtype left out)",
    "engine.metrics.attribution.x_enrol_split__mutmut_5": "labels as a numpy str array instead of object: compared and sorted alike",
    "engine.metrics.attribution.x_enrol_split__mutmut_7": "as mutmut_5 (dtype left out)",
    "engine.metrics.attribution.x_enrol_split__mutmut_16": "groups as a numpy str array instead of object: compared and sorted alike",
    "engine.metrics.attribution.x_enrol_split__mutmut_18": "as mutmut_16 (dtype left out)",
    "engine.metrics.attribution.x_enrol_split__mutmut_30": "the unique groups as a numpy str array instead of object: permuted and compared alike",
    "engine.metrics.attribution.x_enrol_split__mutmut_32": "as mutmut_30 (dtype left out)",
    "engine.metrics.verification.x_equal_error_rate__mutmut_14":
        "`diff < 0` instead of `<= 0`: where FNR - FPR hits 0 exactly, the crossing moves one point on and the "
        "interpolation from that zero point has t = 0, giving the same FPR = FNR",
    "engine.metrics.verification.x_equal_error_rate__mutmut_17":
        "`k == 0 and diff[k] == 0`: k is never 0 (the first ROC point has FNR - FPR = 1), so the interpolation runs; "
        "with diff[k] = 0 it gives t = 1, FPR[k], which equals (FPR[k] + FNR[k]) / 2",
    "engine.metrics.verification.x_equal_error_rate__mutmut_21": "`diff[k] == 1` never holds (diff[k] <= 0): the interpolation runs, as mutmut_17",
    "engine.calibrate.held_out.x_pooled_calibration__mutmut_3":
        "val scores without dtype=float64: best_threshold and fit_calibration convert them again (scored_pairs), and "
        "concatenating with the float64 held-out scores promotes them",
    "engine.calibrate.held_out.x_pooled_calibration__mutmut_5": "as mutmut_3 (dtype left out)",
    "engine.calibrate.held_out.x_pooled_calibration__mutmut_8":
        "val flags without dtype=bool: best_threshold and fit_calibration convert them again (scored_pairs); 0/1 and "
        "booleans are read alike",
    "engine.calibrate.held_out.x_pooled_calibration__mutmut_10": "as mutmut_8 (dtype left out)",
    'engine.metrics.retrieval.x__chunk_scores__mutmut_102':
        '`ap[r == 0] = None`: assigning None into a float64 array stores NaN, as np.nan',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_99':
        'as mutmut_102, for p1 (float64): None is stored as NaN',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_4':
        'excluded similarities set to None (NaN in float32) instead of -inf: numpy sorts NaN after every number, as it does +inf in -sims, so excluded paintings rank last either way and are never relevant',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_19':
        "`top = max(R_max, 2)`: one more rank is partitioned and sorted, but ranks beyond each query's R are masked by within_r; a row is always at least 2 wide (one painting raises 'needs an artist with 2 paintings' first)",
    'engine.metrics.retrieval.x__chunk_scores__mutmut_26':
        'argpartition without axis=1: the default axis -1 is axis 1 of the (Q, N) sims',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_37':
        'take_along_axis without axis=1: the default axis -1 is axis 1',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_42':
        'argsort without axis=1: the default axis -1 is axis 1',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_50':
        'take_along_axis without axis=1: the default axis -1 is axis 1',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_62':
        'take_along_axis without axis=1: the default axis -1 is axis 1',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_40':
        "argsort without kind='stable': only the order among exactly equal similarities changes, and which of two tied paintings ranks first is unspecified either way (argpartition's order before it is arbitrary)",
    'engine.metrics.retrieval.x__chunk_scores__mutmut_43':
        'as mutmut_40 (kind left out)',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_54':
        "kind='STABLE': numpy reads the kind case-insensitively",
    'engine.metrics.retrieval.x__chunk_scores__mutmut_83':
        'errstate divide=None: the only division is by r, and r = 0 only with a zero numerator, which numpy reports as `invalid` (0/0), not `divide`',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_85':
        'as mutmut_83 (divide left out)',
    'engine.metrics.retrieval.x__chunk_scores__mutmut_97':
        'astype(None) is astype(float64)',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_1':
        'chunk=513: queries are scored row by row, so any chunking gives the same rows (a test checks chunk=7 against brute force)',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_28':
        'astype(None) keeps float64 instead of float32: the ranking changes only for similarities equal in float32 and different in float64 (a 1e-8 tie)',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_30':
        'l2_normalize(float64 input, dtype=None) keeps float64: the same unit vectors',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_32':
        "as mutmut_30 (dtype left out: l2_normalize's float32, cast to float32 right after anyway)",
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_34':
        'np.asarray(emb, dtype=None): l2_normalize(..., dtype=np.float64) converts it to float64 anyway',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_36':
        'as mutmut_34 (dtype left out)',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_4':
        'labels as a numpy str array instead of object: np.unique codes them alike',
    'engine.metrics.retrieval.x_retrieval_metrics__mutmut_6':
        'as mutmut_4 (dtype left out)',
    'engine.inference.verify.x_cosine__mutmut_3':
        'u without dtype=float64: cosine_rows converts both inputs to float64 itself',
    'engine.inference.verify.x_cosine__mutmut_5':
        'as mutmut_3 (dtype left out)',
    'engine.inference.verify.x_cosine__mutmut_7':
        'as mutmut_3, for v',
    'engine.inference.verify.x_cosine__mutmut_9':
        'as mutmut_7 (dtype left out)',
    'engine.inference.verify.x_cosine__mutmut_11':
        '`finite(u) or finite(v)`: with one input non-finite, cosine_rows propagates the NaN/inf to a NaN cosine, the same answer',
    'engine.inference.verify.x_cosine__mutmut_16':
        "float('NAN') is float('nan')",
    'engine.inference.verify.x_cosine__mutmut_28':
        "reshape(1, -2): numpy reads any negative size as 'the rest', as -1",
    'engine.inference.verify.x_cosine__mutmut_35':
        'as mutmut_28, for v',
    'engine.inference.verify.x_verify_pair__mutmut_16':
        "torch_threads(None) leaves torch's thread count as it is: the same embeddings, only the speed of two single-image forwards changes",
    'engine.inference.verify.x_verify_pair__mutmut_21':
        'small_job_plan(3, ...) instead of 2: a thread count for the same two forwards, speed only',
    'indexer.search.x__artist_hint__mutmut_8':
        "n=3 left out: difflib.get_close_matches' default n is 3",
    'indexer.search.x_search_embedded__mutmut_36':
        'one more neighbour searched for a query that is not catalogued: _result cuts the matches to k, so the answer is the same',
    'indexer.search.x_search_embedded__mutmut_42':
        'two more neighbours searched instead of one: _result leaves the query itself out and cuts the matches to k, so the answer is the same',
    'indexer.search.x_search_embedded__mutmut_47':
        "`ids > 0` instead of `>= 0`: catalog ids start at 1 (SQL autoincrement), so only FAISS's -1 (no neighbour) is ever left out",
    'indexer.search.x_search_embedded__mutmut_48':
        'as mutmut_47 (`ids >= 1`)',
    'indexer.search.x_embed_queries__mutmut_4':
        "num_workers=None: embed_paths' default loader; the same vectors (speed only)",
    'indexer.search.x_embed_queries__mutmut_5':
        'plan=None: embed_paths plans the job itself; the same vectors (batch size and threads, speed only)',
    'indexer.search.x_embed_queries__mutmut_8':
        'as mutmut_4 (num_workers left out)',
    'indexer.search.x_embed_queries__mutmut_9':
        'as mutmut_5 (plan left out)',
    'indexer.search.x_embed_queries__mutmut_11':
        'num_workers=1: the images decoded in one loader process instead of in-process; the same vectors',
    'indexer.consistency.x__spot_check__mutmut_17':
        'replace=None is falsy, so rng.choice draws without replacement exactly as with replace=False',
    'indexer.consistency.x_check_index__mutmut_7':
        'intersect1d(assume_unique=None) is falsy: both inputs are unique (catalog primary keys; index ids through np.unique), so the intersection is the same',
    'indexer.consistency.x_check_index__mutmut_10':
        "intersect1d without assume_unique on inputs that are already unique (catalog ids; np.unique'd index ids) gives the same array",
    'indexer.consistency.x_check_index__mutmut_11':
        'intersect1d(assume_unique=False) on inputs that are already unique gives the same array',
    'indexer.consistency.x_reconcile__mutmut_13':
        'setdiff1d(catalog_ids, index_ids, assume_unique=None): the first operand (catalog ids) is unique and duplicates in the second do not change membership, so missing is the same',
    'indexer.consistency.x_reconcile__mutmut_16':
        'setdiff1d(catalog_ids, index_ids) without assume_unique: catalog ids are unique, so missing is the same',
    'indexer.consistency.x_reconcile__mutmut_17':
        'setdiff1d(catalog_ids, index_ids, assume_unique=False): catalog ids are unique, so missing is the same',
    'indexer.consistency.x_reconcile__mutmut_23':
        'np.array(sorted(python ints), dtype=None) is already int64 on the 64-bit platforms we run; it is only used as ids for index.add, which casts to int64 anyway',
    'indexer.consistency.x_reconcile__mutmut_25':
        'as mutmut_23, dtype left out: same int64 array, and index.add casts to int64 anyway',
    'indexer.consistency.x_convert__mutmut_7':
        "rebuild's kind defaults to FLAT, so leaving out kind=FLAT changes nothing",
    'indexer.consistency.x_convert__mutmut_10':
        'all_vectors only uses dim when the catalog is empty; building IVF from 0 vectors fails either way (a faiss RuntimeError becomes a TypeError), so no successful behaviour changes',
    'indexer.consistency.x_convert__mutmut_16':
        'build_index treats every kind other than FLAT as IVF, so kind=None builds the same IVF index',
    'indexer.consistency.x_convert__mutmut_31':
        "measure_recall's k defaults to 10, so leaving out k=10 changes nothing",
    'indexer.consistency.x_rebuild__mutmut_11':
        'as convert mutmut_10: dim only matters for an empty catalog, where the IVF build fails either way',
    'indexer.consistency.x_rebuild__mutmut_16':
        'build_index treats every kind other than FLAT as IVF, so kind=None builds the same IVF index',
    'indexer.consistency.x_open_index__mutmut_25':
        'the dimension-mismatch rebuild is FLAT, and the FLAT branch of rebuild ignores nprobe (VectorIndex.empty), so nprobe=None changes nothing',
    'indexer.consistency.x_open_index__mutmut_28':
        "rebuild's kind defaults to FLAT, so leaving out kind=FLAT changes nothing",
    'indexer.consistency.x_open_index__mutmut_29':
        'the FLAT branch of rebuild ignores nprobe, so leaving it out changes nothing',
    'indexer.search.x_query_vectors__mutmut_18':
        'the query rows assembled in float64 instead of float32: l2_normalize returns float32 unit rows either way (rounding in the last bits)',
    'indexer.search.x_query_vectors__mutmut_20':
        'as mutmut_18 (dtype left out: float64)',
}
