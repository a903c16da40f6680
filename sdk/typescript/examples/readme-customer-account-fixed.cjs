// The original orra README's JavaScript example with its one slip fixed: the handler logs
// `taskData` (the task it got) instead of the undefined `task`.
const { createClient } = require('@orra-studio/sdk');

// Create a client
const orraClient = createClient({
	orraUrl: process.env.ORRA_URL,
	orraKey: process.env.ORRA_API_KEY
});

// Flesh out your services inputs and outputs
const serviceSchema = {
	input: {
		type: 'object',
		fields: [ { name: 'customerId', type: 'string', format: 'uuid' } ],
		required: [ 'customerId' ]
	},
	output: {
		type: 'object',
		fields: [
			{ name: 'id', type: 'string', format: 'uuid' },
			{ name: 'name', type: 'string' },
			{ name: 'balance', type: 'number', minimum: 0 }
		]
	}
};

async function main() {
	try {
		// Register your service or Agent, clearly explain what it does.
		await orraClient.registerService(
			'CustomerAccountService',
			{
				description: 'Retrieves and manages customer account data',
				schema: serviceSchema,
				// Setup a handler function that performs the work for this service or Agent.
				taskHandler: handler,
				version: '1.0.0'
			}
		);
		
		console.log('Service registered successfully');
	} catch (error) {
		console.error('Registration failed:', error);
	}
}

// This will receive input as per the input schema setup previously
function handler(taskData) {
	console.log('Received task:', taskData);
	
	// Process the task
	// ..
	
	return { status: 'completed', result: 'Processed data' };
}

main();

process.on('SIGINT', () => {
	console.log('Closing connection...');
	orraClient.close();
	process.exit();
});
