"""Entry point of an import's reader process (see service._batches_from_process)."""

from records_service.imports.service import reader_main

if __name__ == "__main__":
    reader_main()
