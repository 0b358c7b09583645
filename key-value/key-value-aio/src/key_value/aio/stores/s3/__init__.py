"""S3 store on aioboto3 (boto3 in the sync twin): one object per entry, for AWS and S3-compatible services."""

from key_value.aio.stores.s3.store import S3CollectionSanitizationStrategy, S3KeySanitizationStrategy, S3Store

__all__ = ["S3CollectionSanitizationStrategy", "S3KeySanitizationStrategy", "S3Store"]
