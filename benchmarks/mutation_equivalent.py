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
}
