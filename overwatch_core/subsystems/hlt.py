"""HLT: one catch-all group, titles shown, and its 38 trended histograms (REF §3.6, §5.1)."""

from __future__ import annotations

from overwatch_core.subsystems.base import GenericSubsystem, trending_sources_from

__all__ = ["HLT", "TRENDING_SOURCES"]

_TREND_TABLE = (
    ("ClusterChargeMax", "TPC Cluster ChargeMax"),
    ("ClusterChargeTot", "TPC Cluster ChargeTotal"),
    ("HLTInSize_HLTOutSize", "HLT Out Size vs HLT In Size"),
    ("HLTSize_HLTInOutRatio", "HLT Out/In Size Ratio vs HLT Input Size"),
    ("SDDclusters_SDDrawSize", "SDD clusters vs SDD raw size"),
    ("SPDclusters_SDDclusters", "SDD clusters vs SPD clusters"),
    ("SPDclusters_SPDrawSize", "SPD clusters vs SPD raw size"),
    ("SPDclusters_SSDclusters", "SSD clusters vs SPD clusters"),
    ("SSDclusters_SDDclusters", "SDD clusters vs SSD clusters"),
    ("SSDclusters_SSDrawSize", "SSD clusters vs SSD raw size"),
    ("TPCAallClustersRowPhi", "TPCA clusters all, raw cluster coordinates"),
    ("TPCAattachedClustersRowPhi", "TPCA clusters attached to tracks, raw cluster coordinates"),
    ("TPCCallClustersRowPhi", "TPCC clusters all, raw cluster coordinates"),
    ("TPCCattachedClustersRowPhi", "TPCC clusters attached to tracks, raw cluster coordinates"),
    ("TPCClusterFlags", "TPC Cluster Flags"),
    ("TPCClusterSize_TPCCompressedSize", "TPC compressed size vs TPC HWCF Size"),
    ("TPCHLTclusters_TPCCompressionRatio", "Huffman compression ratio vs TPC HLT clusters"),
    ("TPCHLTclusters_TPCFullCompressionRatio", "Full compression ratio vs TPC HLT clusters"),
    ("TPCHLTclusters_TPCSplitClusterRatioPad", "TPC Split Cluster ratio pad vs TPC HLT clusters"),
    ("TPCHLTclusters_TPCSplitClusterRatioTime", "TPC Split Cluster ratio time vs TPC HLT clusters"),
    ("TPCRawSize_TPCCompressedSize", "TPC compressed size vs TPC Raw Size"),
    ("TPCTrackPt", "TPC Track Pt"),
    ("TPCdEdxMaxIROC", "TPC dE/dx v.s. P (qMax, IROC)"),
    ("TPCdEdxMaxOROC1", "TPC dE/dx v.s. P (qMax, OROC1)"),
    ("TPCdEdxMaxOROC2", "TPC dE/dx v.s. P (qMax, OROC2)"),
    ("TPCdEdxMaxOROCAll", "TPC dE/dx v.s. P (qMax, OROC all)"),
    ("TPCdEdxMaxTPCAll", "TPC dE/dx v.s. P (qMax, full TPC)"),
    ("TPCdEdxTotIROC", "TPC dE/dx v.s. P (qTot, IROC)"),
    ("TPCdEdxTotOROC1", "TPC dE/dx v.s. P (qTot, OROC1)"),
    ("TPCdEdxTotOROC2", "TPC dE/dx v.s. P (qTot, OROC2)"),
    ("TPCdEdxTotOROCAll", "TPC dE/dx v.s. P (qTot, OROC all)"),
    ("TPCdEdxTotTPCAll", "TPC dE/dx v.s. P (qTot, full TPC)"),
    ("TPCtracks_TPCtracklets", "TPC Tracks vs TPC Tracklets"),
    ("TZERO_ITSSPDVertexZ", "TZERO interaction time vs ITS vertex z"),
    ("VZERO_SPDClusters", "SPD Clusters vs VZERO Trigger Charge (A+C)"),
    ("ZNA_VZEROTrigChargeA", "ZNA vs. VZERO Trigger Charge A"),
    ("ZNC_VZEROTrigChargeC", "ZNC vs. VZERO Trigger Charge C"),
    ("ZNT_VZEROTrigChargeT", "ZN (A+C) vs. VZERO Trigger Charge (A+C)"),
)

#: 38 sources x {max, mean, stdDev} = 114 trends; each reads ``fHist<name>``.
TRENDING_SOURCES = trending_sources_from(
    ((name, desc, f"fHist{name}") for name, desc in _TREND_TABLE), ("max", "mean", "stddev")
)

#: HLT always has its own files, so its single group "HLT Histograms" is the catch-all.
HLT = GenericSubsystem("HLT", trends=TRENDING_SOURCES)
