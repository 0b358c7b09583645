"""DynamoDB store on aioboto3 (boto3 in the sync twin): one table, one item per entry."""

from key_value.aio.stores.dynamodb.store import DynamoDBStore

__all__ = ["DynamoDBStore"]
