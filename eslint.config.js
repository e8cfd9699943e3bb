import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Cloud SDKs may only be imported by their own source adapter, their own
// function folder, their own kube authenticator or the infra that deploys them.
const cloudSdks = [
  '@aws-sdk/*',
  '@azure/*',
  '@google-cloud/*',
  'google-auth-library',
  '@smithy/*',
  '@aws-crypto/*',
  '@aws-lambda-powertools/*',
  'aws-cdk-lib',
  'aws-cdk-lib/*',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'cdk.out/**',
      'dist/**',
      'coverage/**',
      '.build/**',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/sources/**', 'shared/kube/auth/**', 'shared/registry-store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: cloudSdks,
              message:
                'Cloud SDKs belong in shared/sources/<provider>, shared/kube/auth/<cloud> or shared/registry-store.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'shared/engine/**/*.ts',
      'shared/template/**/*.ts',
      'shared/events/**/*.ts',
      'shared/registry/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...cloudSdks, '@kubernetes/client-node'],
              message:
                'The engine, templates, events and registry talk to ports, never to a cloud SDK or the Kubernetes client.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
