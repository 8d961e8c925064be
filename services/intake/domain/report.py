"""What a reporter sends: the contract's model (shared with routing's simulation), under intake's old name."""

from shared.contracts.concern_report import ConcernReport, ExternalRef, Reporter, Resident

__all__ = ["ConcernReport", "ExternalRef", "Reporter", "Resident"]
