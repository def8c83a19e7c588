/**
 * The ECR operations ecrx calls, each with the SDK's own input and output types: `Ecr.call('BatchGetImage', ...)`
 * is typed by the operation's name. A new operation is one line here.
 */
import type {
  BatchCheckLayerAvailabilityCommandInput,
  BatchCheckLayerAvailabilityCommandOutput,
  BatchDeleteImageCommandInput,
  BatchDeleteImageCommandOutput,
  BatchGetImageCommandInput,
  BatchGetImageCommandOutput,
  CompleteLayerUploadCommandInput,
  CompleteLayerUploadCommandOutput,
  CreateRepositoryCommandInput,
  CreateRepositoryCommandOutput,
  DescribeImagesCommandInput,
  DescribeImagesCommandOutput,
  DescribeRepositoriesCommandInput,
  DescribeRepositoriesCommandOutput,
  GetAuthorizationTokenCommandInput,
  GetAuthorizationTokenCommandOutput,
  GetDownloadUrlForLayerCommandInput,
  GetDownloadUrlForLayerCommandOutput,
  InitiateLayerUploadCommandInput,
  InitiateLayerUploadCommandOutput,
  ListImageReferrersCommandInput,
  ListImageReferrersCommandOutput,
  ListImagesCommandInput,
  ListImagesCommandOutput,
  PutImageCommandInput,
  PutImageCommandOutput,
  UpdateImageStorageClassCommandInput,
  UpdateImageStorageClassCommandOutput,
  UploadLayerPartCommandInput,
  UploadLayerPartCommandOutput,
} from '@aws-sdk/client-ecr';

export interface EcrOperations {
  BatchCheckLayerAvailability: [BatchCheckLayerAvailabilityCommandInput, BatchCheckLayerAvailabilityCommandOutput];
  BatchDeleteImage: [BatchDeleteImageCommandInput, BatchDeleteImageCommandOutput];
  BatchGetImage: [BatchGetImageCommandInput, BatchGetImageCommandOutput];
  CompleteLayerUpload: [CompleteLayerUploadCommandInput, CompleteLayerUploadCommandOutput];
  CreateRepository: [CreateRepositoryCommandInput, CreateRepositoryCommandOutput];
  DescribeImages: [DescribeImagesCommandInput, DescribeImagesCommandOutput];
  DescribeRepositories: [DescribeRepositoriesCommandInput, DescribeRepositoriesCommandOutput];
  GetAuthorizationToken: [GetAuthorizationTokenCommandInput, GetAuthorizationTokenCommandOutput];
  GetDownloadUrlForLayer: [GetDownloadUrlForLayerCommandInput, GetDownloadUrlForLayerCommandOutput];
  InitiateLayerUpload: [InitiateLayerUploadCommandInput, InitiateLayerUploadCommandOutput];
  ListImageReferrers: [ListImageReferrersCommandInput, ListImageReferrersCommandOutput];
  ListImages: [ListImagesCommandInput, ListImagesCommandOutput];
  PutImage: [PutImageCommandInput, PutImageCommandOutput];
  UpdateImageStorageClass: [UpdateImageStorageClassCommandInput, UpdateImageStorageClassCommandOutput];
  UploadLayerPart: [UploadLayerPartCommandInput, UploadLayerPartCommandOutput];
}

export type EcrOperation = keyof EcrOperations;
export type EcrInput<O extends EcrOperation> = EcrOperations[O][0];
export type EcrOutput<O extends EcrOperation> = EcrOperations[O][1];
