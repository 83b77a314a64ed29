// Custom matchers for aws-sdk-client-mock (toReceiveCommandWith, ...).
import 'aws-sdk-client-mock-vitest/extend';
