"""The Azure side of a ceremony, in pure software: no PKCS#11 call lives here.

KEK intake (kid rules, public-key files), which targets Azure accepts, the `.byok` format and
the `az` import commands are Azure's rules, not the HSM's; keeping them apart from `hsm/` lets
them be checked before the token is touched and tested without one.
"""
