"""The contract document and signature engine, called by the contracts domain.

- ``render``: ``ContractData`` → PDF (WeasyPrint, sandboxed template, embedded CJK font) + SHA-256.
- ``fonts``: the compact cut of the CJK font (GB 2312), made once per process with HarfBuzz.
- ``signing``: the platform's Ed25519 signature over (contract, version, hash, signer, time).
- ``seal``: the platform's PAdES seal on the final PDF (pyHanko) and its check.
- ``verify``: ``verify_document`` for the public verification page and the CLI.

Nothing here touches the database; the callers store the frozen bytes and the records.
"""
