"""The service directory in Open Referral HSDS 3.0: records, hours and referral cards (pure)."""
